// The audit's append-only checkpoint journal (audit/journal.h). Frame: "FSJ1", payload length
// (u64 little endian), SHA-256 of the payload, payload. The first payload is the identity text;
// the others are batch reports as the coordinator received them (batch_report_encode, results.h).
#include "audit/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "fssl/digest.h"
#include "fssl/error.h"

namespace fssl {
namespace {

constexpr std::array<char, 4> kMagic = {'F', 'S', 'J', '1'};
constexpr std::size_t kHeaderBytes = kMagic.size() + sizeof(std::uint64_t) + sizeof(Digest32);

std::vector<std::uint8_t> read_all(int fd, const std::string& path) {
  std::vector<std::uint8_t> bytes;
  std::array<std::uint8_t, 1 << 16> chunk;
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    FSSL_CHECK(n >= 0, ArchiveError, "{}: read failed: {}", path, std::strerror(errno));
    if (n == 0) return bytes;
    bytes.insert(bytes.end(), chunk.data(), chunk.data() + n);
  }
}

// The payload of the frame at `pos`, or false when the bytes from `pos` are not a whole, intact
// frame (the torn tail of a killed run).
bool next_frame(const std::vector<std::uint8_t>& bytes, std::size_t* pos, std::vector<std::uint8_t>* payload) {
  if (bytes.size() - *pos < kHeaderBytes || std::memcmp(bytes.data() + *pos, kMagic.data(), kMagic.size()) != 0) {
    return false;
  }
  std::uint64_t length = 0;
  std::memcpy(&length, bytes.data() + *pos + kMagic.size(), sizeof(length));
  if (length > bytes.size() - *pos - kHeaderBytes) return false;
  Digest32 stored;
  std::memcpy(stored.data(), bytes.data() + *pos + kMagic.size() + sizeof(length), stored.size());
  const auto* begin = bytes.data() + *pos + kHeaderBytes;
  const std::string_view view(reinterpret_cast<const char*>(begin), length);
  if (!digest_equal(sha256(view), stored)) return false;
  payload->assign(begin, begin + length);
  *pos += kHeaderBytes + length;
  return true;
}

// Decodes the entries after the identity frame; `*pos` ends at the first byte that is not a
// whole, intact frame.
std::vector<JournalEntry> decode_entries(const std::vector<std::uint8_t>& bytes, std::size_t* pos,
                                         const std::string& path) {
  std::vector<JournalEntry> out;
  std::vector<std::uint8_t> payload;
  while (*pos < bytes.size()) {
    const std::size_t at = *pos;
    if (!next_frame(bytes, pos, &payload)) break;
    try {
      out.push_back(batch_report_decode(payload));
    } catch (const std::exception& e) {
      FSSL_THROW(ArchiveError, "{}: entry at byte {} has a valid checksum but cannot be decoded: {}", path, at, e.what());
    }
  }
  return out;
}

}  // namespace

std::vector<JournalEntry> AuditJournal::read(const std::string& path, std::string* identity) {
  const FileDescriptor fd = FileDescriptor::open(path, O_RDONLY);
  const std::vector<std::uint8_t> bytes = read_all(fd.get(), path);
  std::size_t pos = 0;
  std::vector<std::uint8_t> payload;
  FSSL_CHECK(next_frame(bytes, &pos, &payload), ArchiveError, "{}: not an audit journal (no identity entry)", path);
  identity->assign(payload.begin(), payload.end());
  return decode_entries(bytes, &pos, path);
}

AuditJournal AuditJournal::open(const std::string& path, const std::string& identity) {
  AuditJournal j;
  j.path_ = path;
  j.fd_ = FileDescriptor::open(path, O_RDWR | O_CREAT);
  const std::vector<std::uint8_t> bytes = read_all(j.fd_.get(), path);
  std::size_t pos = 0;
  std::vector<std::uint8_t> payload;
  if (bytes.empty() || !next_frame(bytes, &pos, &payload)) {
    // New (or killed before its identity was complete): start over.
    FSSL_CHECK(::ftruncate(j.fd_.get(), 0) == 0, ArchiveError, "{}: truncate failed: {}", path, std::strerror(errno));
    FSSL_CHECK(::lseek(j.fd_.get(), 0, SEEK_SET) == 0, ArchiveError, "{}: seek failed: {}", path, std::strerror(errno));
    j.torn_bytes_ = bytes.size();
    j.write_frame(std::vector<std::uint8_t>(identity.begin(), identity.end()));
    j.sync();
    return j;
  }
  const std::string found(payload.begin(), payload.end());
  FSSL_CHECK(found == identity, ConfigError,
             "{}: this run directory holds the checkpoint of another audit (archive, model, plan or scoring options "
             "differ); use a new --out directory, or remove the journal to start over.\n  journal: {}\n  this run: {}",
             path, found, identity);
  j.loaded_ = decode_entries(bytes, &pos, path);
  j.torn_bytes_ = bytes.size() - pos;
  FSSL_CHECK(::ftruncate(j.fd_.get(), static_cast<off_t>(pos)) == 0, ArchiveError, "{}: truncate failed: {}", path,
             std::strerror(errno));
  FSSL_CHECK(::lseek(j.fd_.get(), static_cast<off_t>(pos), SEEK_SET) == static_cast<off_t>(pos), ArchiveError,
             "{}: seek failed: {}", path, std::strerror(errno));
  return j;
}

AuditJournal::~AuditJournal() {
  if (fd_.valid()) ::fsync(fd_.get());  // best effort: a destructor must not throw
}

void AuditJournal::write_frame(const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> frame(kHeaderBytes + payload.size());
  std::memcpy(frame.data(), kMagic.data(), kMagic.size());
  const std::uint64_t length = payload.size();
  std::memcpy(frame.data() + kMagic.size(), &length, sizeof(length));
  const Digest32 digest = sha256(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
  std::memcpy(frame.data() + kMagic.size() + sizeof(length), digest.data(), digest.size());
  std::memcpy(frame.data() + kHeaderBytes, payload.data(), payload.size());
  // One write() per frame: a kill leaves either the whole frame or a torn tail open() removes.
  fd_.write_all(frame.data(), frame.size());
}

void AuditJournal::append(const std::vector<std::uint8_t>& report_bytes) { write_frame(report_bytes); }

void AuditJournal::sync() {
  fd_.fsync();
}

}  // namespace fssl
