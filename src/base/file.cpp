// File descriptors and atomic output files (file.h).
#include "fssl/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include "fssl/error.h"

namespace fssl {

FileDescriptor FileDescriptor::open(const std::string& path, int flags, int mode) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  FSSL_CHECK(fd >= 0, ArchiveError, "{}: cannot open: {}", path, std::strerror(errno));
  return FileDescriptor(fd, path);
}

FileDescriptor::FileDescriptor(FileDescriptor&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

void FileDescriptor::write_all(const void* data, std::size_t n) const {
  const auto* p = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < n) {
    const ssize_t k = ::write(fd_, p + done, n - done);
    if (k < 0 && errno == EINTR) continue;
    FSSL_CHECK(k > 0, ArchiveError, "{}: write failed: {}", path_, std::strerror(errno));
    done += static_cast<std::size_t>(k);
  }
}

void FileDescriptor::fsync() const {
  FSSL_CHECK(::fsync(fd_) == 0, ArchiveError, "{}: fsync failed: {}", path_, std::strerror(errno));
}

void FileDescriptor::close() {
  if (fd_ < 0) return;
  // errno is read before anything else can change it.
  const int rc = ::close(std::exchange(fd_, -1));
  const int err = errno;
  FSSL_CHECK(rc == 0, ArchiveError, "{}: close failed: {}", path_, std::strerror(err));
}

void fsync_path(const std::string& path, bool directory) {
  FileDescriptor fd = FileDescriptor::open(path, directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  fd.fsync();
  fd.close();
}

namespace {

std::string parent_dir(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

// Renames the (complete, fsynced) `tmp` over `path` and makes the rename durable.
void rename_into_place(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    FSSL_THROW(ArchiveError, "{}: cannot rename {} into place: {}", path, tmp, std::strerror(err));
  }
  fsync_path(parent_dir(path), true);
}

}  // namespace

void commit_file_atomic(const std::string& tmp, const std::string& path) {
  try {
    // Without the fsync a crash after the rename can leave a complete-looking name on empty data.
    fsync_path(tmp, false);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  rename_into_place(tmp, path);
}

void write_file_atomic(const std::string& path, const std::function<void(const FileDescriptor&)>& write) {
  const std::string tmp = path + ".tmp";
  try {
    FileDescriptor fd = FileDescriptor::open(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    write(fd);
    fd.fsync();
    fd.close();
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  rename_into_place(tmp, path);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  write_file_atomic(path, [&](const FileDescriptor& fd) { fd.write_all(bytes.data(), bytes.size()); });
}

}  // namespace fssl
