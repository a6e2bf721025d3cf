// ArchiveWriter: appends records to the current shard (buffered, extendible datasets), rolls
// shards, and publishes each completed shard by rename + manifest rewrite, so that a writer killed
// at any instant leaves a valid archive (format section 1).
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "archive/shard_writer.h"
#include "archive/format.h"
#include "fssl/log.h"

namespace fssl {
namespace af = archive_format;

struct ArchiveWriter::Impl {
  std::string dir;
  WriterOptions options;
  int lock_fd = -1;
  Manifest manifest;
  Digest32 chain_prev{};
  std::optional<std::uint64_t> last_id;
  std::unique_ptr<ShardWriter> current;
  bool broken = false;  // an I/O failure left the current shard unusable

  ~Impl() {
    if (lock_fd >= 0) ::close(lock_fd);
  }
};

namespace {

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename());
  return names;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Adopts shard-<n>.h5 left complete but unlisted by a writer killed between rename and manifest.
void adopt_unlisted_shard(ArchiveWriter::Impl& w) {
  const auto index = static_cast<std::int64_t>(w.manifest.shards.size());
  const std::string path = w.dir + "/" + af::shard_file_name(index);
  if (::access(path.c_str(), F_OK) != 0) return;
  ShardReader shard = ShardReader::open(path);
  const Digest32 expected_genesis = w.manifest.shards.empty() ? Digest32{} : w.manifest.shards.back().chain_head;
  FSSL_CHECK(shard.shard_index() == index && digest_equal(shard.chain_genesis(), expected_genesis), ArchiveError,
             "{}: complete shard not listed in the manifest does not continue the chain; move it away to append",
             path);
  FSSL_LOG_WARN("{}: adopting a complete shard the manifest did not list yet (writer killed before publishing)", path);
  w.manifest.shards.push_back(shard_entry_scan(shard));
  if (w.options.key) w.manifest.hmac = w.manifest.compute_hmac(*w.options.key);
  w.manifest.write(w.dir);
}

}  // namespace

ArchiveWriter::ArchiveWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ArchiveWriter::ArchiveWriter(ArchiveWriter&&) noexcept = default;
ArchiveWriter& ArchiveWriter::operator=(ArchiveWriter&&) noexcept = default;

ArchiveWriter::~ArchiveWriter() {
  if (!impl_) return;
  try {
    close();
  } catch (const std::exception& e) {
    FSSL_LOG_ERROR("{}: could not complete the last shard: {}", impl_->dir, e.what());
  }
}

ArchiveWriter ArchiveWriter::open(const std::string& dir, const WriterOptions& options) {
  FSSL_CHECK(options.shard_messages >= 1, ConfigError, "shard size must be at least 1 message");
  auto w = std::make_unique<Impl>();
  w->dir = dir;
  w->options = options;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  FSSL_CHECK(!ec, ArchiveError, "{}: cannot create archive directory: {}", dir, ec.message());
  const std::string lock_path = dir + "/" + af::kLockFile;
  w->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT, 0644);
  FSSL_CHECK(w->lock_fd >= 0, ArchiveError, "{}: cannot open lock file: {}", lock_path, std::strerror(errno));
  FSSL_CHECK(::flock(w->lock_fd, LOCK_EX | LOCK_NB) == 0, ArchiveError,
             "{}: another writer is appending to this archive (lock held on {})", dir, lock_path);

  w->manifest = Manifest::read(dir, /*allow_missing=*/true);
  if (w->manifest.hmac) {
    FSSL_CHECK(options.key.has_value(), ArchiveError,
               "{}: the archive is authenticated (manifest has an HMAC): appending needs its key (--key)", dir);
    FSSL_CHECK(digest_equal(*w->manifest.hmac, w->manifest.compute_hmac(*options.key)), ArchiveError,
               "{}: the manifest HMAC does not verify under the given key: wrong key or tampered manifest", dir);
  } else if (options.key && !w->manifest.shards.empty()) {
    FSSL_THROW(ArchiveError, "{}: the archive has unauthenticated shards; refusing to mix in authenticated ones", dir);
  }
  for (const std::string& name : list_dir(dir)) {
    if (ends_with(name, af::kPartialSuffix)) {
      FSSL_LOG_WARN("{}/{}: discarding an unfinished shard left by a killed writer", dir, name);
      std::remove((dir + "/" + name).c_str());
    }
  }
  adopt_unlisted_shard(*w);
  if (!w->manifest.shards.empty()) {
    w->chain_prev = w->manifest.shards.back().chain_head;
    w->last_id = w->manifest.shards.back().last_message_id;
  }
  return ArchiveWriter(std::move(w));
}

std::uint64_t ArchiveWriter::next_message_id() const { return impl_->last_id ? *impl_->last_id + 1 : 0; }

const Manifest& ArchiveWriter::manifest() const { return impl_->manifest; }

void ArchiveWriter::append(const LogRecord& record) {
  Impl& w = *impl_;
  FSSL_CHECK(!w.broken, ArchiveError, "{}: writer unusable after an earlier I/O error", w.dir);
  if (std::string problem = record_problem(record); !problem.empty()) {
    FSSL_THROW(RecordError, "message id {}: {}", record.message_id, problem);
  }
  FSSL_CHECK(!w.last_id || record.message_id > *w.last_id, RecordError,
             "message id {} is not greater than the previous id {} (ids must increase)", record.message_id,
             w.last_id.value_or(0));
  if (!w.current) {
    const auto index = static_cast<std::int64_t>(w.manifest.shards.size());
    const std::string path = w.dir + "/" + af::shard_file_name(index) + af::kPartialSuffix;
    w.current = std::make_unique<ShardWriter>(path, index, w.chain_prev, w.options);
  }
  if (std::string conflict = w.current->table_conflict(record); !conflict.empty()) {
    FSSL_THROW(RecordError, "message id {}: {}", record.message_id, conflict);
  }
  const Digest32 digest = record_digest(w.chain_prev, record);
  try {
    w.current->append(record, digest);
  } catch (...) {
    w.broken = true;
    throw;
  }
  w.chain_prev = digest;
  w.last_id = record.message_id;
  if (w.current->n_messages() >= w.options.shard_messages) finish_shard();
}

void ArchiveWriter::finish_shard() {
  Impl& w = *impl_;
  if (!w.current || w.broken) return;
  std::unique_ptr<ShardWriter> shard = std::move(w.current);
  const std::string final_path = w.dir + "/" + af::shard_file_name(shard->index());
  shard->complete(w.options.key ? &*w.options.key : nullptr);  // closes and fsyncs the .partial file
  FSSL_CHECK(std::rename(shard->path().c_str(), final_path.c_str()) == 0, ArchiveError, "{}: rename failed: {}",
             final_path, std::strerror(errno));
  // Read the shard back: the manifest entry comes from what is on disk, not from memory.
  w.manifest.shards.push_back(shard_entry_scan(ShardReader::open(final_path)));
  if (w.options.key) w.manifest.hmac = w.manifest.compute_hmac(*w.options.key);
  w.manifest.write(w.dir);  // fsyncs the directory, which also persists the rename
}

void ArchiveWriter::close() {
  if (!impl_) return;
  finish_shard();
  if (impl_->lock_fd >= 0) {
    ::close(impl_->lock_fd);
    impl_->lock_fd = -1;
  }
}

}  // namespace fssl
