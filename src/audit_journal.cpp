// The audit's append-only checkpoint journal (audit_journal.h). Frame: "FSJ1", payload length
// (u64 little endian), SHA-256 of the payload, payload. The first payload is the identity text;
// the others are CBOR {"batch": id, "results": results_to_bytes(...)}.
#include "fssl/audit_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

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
      const nlohmann::json entry = nlohmann::json::from_cbor(payload);
      out.push_back({entry.at("batch").get<std::uint64_t>(), results_from_bytes(entry.at("results").get_binary())});
    } catch (const std::exception& e) {
      FSSL_THROW(ArchiveError, "{}: entry at byte {} has a valid checksum but cannot be decoded: {}", path, at, e.what());
    }
  }
  return out;
}

}  // namespace

std::vector<JournalEntry> AuditJournal::read(const std::string& path, std::string* identity) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  FSSL_CHECK(fd >= 0, ArchiveError, "{}: cannot open the audit journal: {}", path, std::strerror(errno));
  std::vector<std::uint8_t> bytes;
  try {
    bytes = read_all(fd, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  std::size_t pos = 0;
  std::vector<std::uint8_t> payload;
  FSSL_CHECK(next_frame(bytes, &pos, &payload), ArchiveError, "{}: not an audit journal (no identity entry)", path);
  identity->assign(payload.begin(), payload.end());
  return decode_entries(bytes, &pos, path);
}

AuditJournal AuditJournal::open(const std::string& path, const std::string& identity) {
  AuditJournal j;
  j.path_ = path;
  j.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  FSSL_CHECK(j.fd_ >= 0, ArchiveError, "{}: cannot open the audit journal: {}", path, std::strerror(errno));
  const std::vector<std::uint8_t> bytes = read_all(j.fd_, path);
  std::size_t pos = 0;
  std::vector<std::uint8_t> payload;
  if (bytes.empty() || !next_frame(bytes, &pos, &payload)) {
    // New (or killed before its identity was complete): start over.
    FSSL_CHECK(::ftruncate(j.fd_, 0) == 0, ArchiveError, "{}: truncate failed: {}", path, std::strerror(errno));
    FSSL_CHECK(::lseek(j.fd_, 0, SEEK_SET) == 0, ArchiveError, "{}: seek failed: {}", path, std::strerror(errno));
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
  FSSL_CHECK(::ftruncate(j.fd_, static_cast<off_t>(pos)) == 0, ArchiveError, "{}: truncate failed: {}", path,
             std::strerror(errno));
  FSSL_CHECK(::lseek(j.fd_, static_cast<off_t>(pos), SEEK_SET) == static_cast<off_t>(pos), ArchiveError,
             "{}: seek failed: {}", path, std::strerror(errno));
  return j;
}

AuditJournal::AuditJournal(AuditJournal&& o) noexcept
    : path_(std::move(o.path_)), fd_(o.fd_), loaded_(std::move(o.loaded_)), torn_bytes_(o.torn_bytes_) {
  o.fd_ = -1;
}

AuditJournal& AuditJournal::operator=(AuditJournal&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    loaded_ = std::move(o.loaded_);
    torn_bytes_ = o.torn_bytes_;
    o.fd_ = -1;
  }
  return *this;
}

AuditJournal::~AuditJournal() {
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
  }
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
  std::size_t done = 0;
  while (done < frame.size()) {
    const ssize_t n = ::write(fd_, frame.data() + done, frame.size() - done);
    if (n < 0 && errno == EINTR) continue;
    FSSL_CHECK(n > 0, ArchiveError, "{}: journal write failed: {}", path_, std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

void AuditJournal::append(std::uint64_t batch_id, const std::vector<MessageResult>& results) {
  const nlohmann::json entry = {{"batch", batch_id}, {"results", nlohmann::json::binary(results_to_bytes(results))}};
  write_frame(nlohmann::json::to_cbor(entry));
}

void AuditJournal::sync() {
  FSSL_CHECK(::fsync(fd_) == 0, ArchiveError, "{}: fsync failed: {}", path_, std::strerror(errno));
}

}  // namespace fssl
