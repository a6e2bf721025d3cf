// Files fssl writes: one owner of a POSIX file descriptor, and the one way an output file
// (manifest.json, summary.json, report.html, results.h5, calibration.json, safetensors) comes
// into place: written to PATH.tmp, fsynced, closed, renamed over PATH, and the directory
// fsynced, so a crash leaves either the old file or the complete new one, never a torn file
// under the final name. Errors throw ArchiveError naming the file and the system's reason; the
// temporary file is removed on failure. Nothing here is collective; one thread per file.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace fssl {

// Owns a file descriptor (move-only; the move leaves -1 behind). The destructor closes without
// checking (it must not throw); call close() where the close's error matters (writes).
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd, std::string path = "") : fd_(fd), path_(std::move(path)) {}
  // open(2); throws ArchiveError naming `path` when it fails.
  static FileDescriptor open(const std::string& path, int flags, int mode = 0644);
  FileDescriptor(FileDescriptor&& other) noexcept;
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  // All of `n` bytes (retrying short writes and EINTR); ArchiveError on failure.
  void write_all(const void* data, std::size_t n) const;
  void fsync() const;
  void close();  // checked; a no-op when not valid

 private:
  int fd_ = -1;
  std::string path_;  // for messages
};

// fsync(2) of a file or directory by name (a directory fsync makes a rename durable).
void fsync_path(const std::string& path, bool directory);

// Writes PATH through PATH.tmp as described above; `write` fills the open temporary file.
void write_file_atomic(const std::string& path, const std::function<void(const FileDescriptor&)>& write);
void write_file_atomic(const std::string& path, std::string_view bytes);
// For writers that create PATH.tmp through their own library (HDF5): fsync it, rename it over
// `path`, fsync the directory. Removes `tmp` and throws ArchiveError on failure.
void commit_file_atomic(const std::string& tmp, const std::string& path);

}  // namespace fssl
