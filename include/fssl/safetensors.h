// Safetensors files (Hugging Face's weight format), hand-written: no Debian library exists.
// Reading maps the file read-only and validates the header before trusting anything in it:
// header length bounded (<= 100 MB and inside the file), JSON well formed and an object, known
// dtypes, shape x dtype size == byte range, every range inside the data section, ranges
// non-overlapping, no tensor names repeated, "__metadata__" a string-to-string map. A hostile or
// truncated file raises ModelError naming the file and the tensor or field; never undefined
// behaviour.
// Ownership: a SafetensorsFile owns its mapping; TensorView pointers are valid while it lives.
// A file truncated by another process while mapped makes reads fault (SIGBUS): model directories
// are expected to be immutable while fssl runs. Gaps between tensors and trailing bytes are
// accepted (the Python reader is stricter).
// Thread safety: immutable after open; concurrent reads are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fssl {

enum class SafetensorsDtype { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

// "F32" -> kF32 etc.; false for an unknown name.
bool safetensors_dtype_parse(const std::string& name, SafetensorsDtype* out);
const char* safetensors_dtype_name(SafetensorsDtype dtype);
std::size_t safetensors_dtype_size(SafetensorsDtype dtype);

struct TensorView {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::kF32;
  std::vector<std::int64_t> shape;
  const std::uint8_t* data = nullptr;  // little-endian elements, row-major; not necessarily aligned
  std::size_t n_bytes = 0;
  std::int64_t n_elements() const;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws ModelError("<path>: ...") on any problem.
  static SafetensorsFile open(const std::string& path);
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::string& path() const;
  // Tensors in file order of their data offsets.
  const std::vector<TensorView>& tensors() const;
  // nullptr if absent.
  const TensorView* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const;

 private:
  struct Impl;
  explicit SafetensorsFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A tensor to write: the caller keeps `data` alive until safetensors_write returns.
struct TensorToWrite {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::kF32;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;
  std::size_t n_bytes = 0;  // must equal product(shape) * dtype size
};

// Writes a safetensors file byte-identical to the Python library's: tensors ordered widest dtype
// first, then by name (every tensor lands on its natural alignment); metadata keys sorted (Python
// uses a hash map, so its order varies between runs when there are several keys); header padded
// with spaces to a multiple of 8 bytes. Atomic: writes path + ".tmp", fsyncs, renames.
// Throws ModelError on inconsistent sizes or I/O failure.
void safetensors_write(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace fssl
