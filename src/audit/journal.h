// The audit's checkpoint: an append-only journal RUN/journal.fssl of completed work batches.
// The coordinator appends each batch's results as it arrives and fsyncs at most every few
// seconds and before it exits (SIGUSR1/SIGTERM, --max-time, the end); a rerun of the same audit
// reloads the journal and hands out only the batches it lacks. Each entry is framed
// (magic, length, SHA-256 of the payload), so a run killed mid-write (SIGKILL, node loss) loses
// only its torn last entry, which open() cuts off. The first entry is the audit's identity
// (archive digest, model fingerprint, plan and scoring options): a journal of another audit is
// refused, so a resume can never mix two audits' results.
// Owns a file descriptor (move-only); the coordinator alone uses it, from one thread.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fssl/file.h"
#include "fssl/results.h"

namespace fssl {

// An entry is the batch report exactly as the group leader sent it (results.h).
using JournalEntry = BatchReport;

class AuditJournal {
 public:
  // Opens or creates `path`. An existing journal must carry `identity` (ConfigError otherwise,
  // naming the file); its complete entries are loaded and a torn tail is truncated away.
  // Throws ArchiveError naming the file on I/O errors or a corrupt entry before the tail.
  static AuditJournal open(const std::string& path, const std::string& identity);
  AuditJournal(AuditJournal&& other) noexcept = default;
  AuditJournal& operator=(AuditJournal&& other) noexcept = default;
  AuditJournal(const AuditJournal&) = delete;
  AuditJournal& operator=(const AuditJournal&) = delete;
  ~AuditJournal();

  // Reads a journal without changing it (fssl merge): its identity and complete entries. Throws
  // ArchiveError naming the file when it cannot be read or holds no identity.
  static std::vector<JournalEntry> read(const std::string& path, std::string* identity);

  const std::string& path() const { return path_; }
  // The entries found at open, in the order they were written.
  const std::vector<JournalEntry>& loaded() const { return loaded_; }
  std::uint64_t torn_bytes() const { return torn_bytes_; }  // cut off at open

  // Writes one entry: the bytes of a batch report (batch_report_encode), as received. Durable
  // against a process kill at once, against a crash after sync().
  void append(const std::vector<std::uint8_t>& report_bytes);
  void sync();

 private:
  AuditJournal() = default;
  void write_frame(const std::vector<std::uint8_t>& payload);

  std::string path_;
  FileDescriptor fd_;
  std::vector<JournalEntry> loaded_;
  std::uint64_t torn_bytes_ = 0;
};

}  // namespace fssl
