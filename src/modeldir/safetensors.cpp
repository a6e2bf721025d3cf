// Safetensors reader and writer (safetensors.h): the reader maps the file read-only and validates
// the whole header before handing out any view; the writer reproduces the byte layout of Hugging
// Face's own library (safetensors 0.8), so a file fssl writes is byte-identical to the Python one.
#include "fssl/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/ranges.h>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "fssl/error.h"
#include "fssl/file.h"

namespace fssl {
namespace {

using nlohmann::json;

// The Python library refuses larger headers; a hostile length must not make us allocate more.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

// Indexed by SafetensorsDtype. write_rank: the position in the Python library's Dtype enum; it
// writes higher ranks first.
struct DtypeInfo { const char* name; std::size_t size; int write_rank; };
constexpr DtypeInfo kDtypes[] = {{"F64", 8, 8}, {"F32", 4, 7}, {"F16", 2, 4}, {"BF16", 2, 5}, {"I64", 8, 9},
                                 {"I32", 4, 6}, {"I16", 2, 3}, {"I8", 1, 2},  {"U8", 1, 1},   {"BOOL", 1, 0}};
constexpr std::size_t kNumDtypes = sizeof(kDtypes) / sizeof(kDtypes[0]);

bool dtype_valid(SafetensorsDtype dtype) { return static_cast<std::size_t>(dtype) < kNumDtypes; }

const DtypeInfo& dtype_info(SafetensorsDtype dtype) {
  FSSL_ASSERT(dtype_valid(dtype));
  return kDtypes[static_cast<std::size_t>(dtype)];
}

// product(shape) * element_size, or false when a dimension is negative or the product overflows.
bool byte_size(const std::vector<std::int64_t>& shape, std::size_t element_size, std::uint64_t* out) {
  std::uint64_t n = element_size;
  for (std::int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n)) return false;
  }
  *out = n;
  return true;
}

// One header entry as a view into the data section; offsets are checked against `data_size`.
TensorView parse_entry(const std::string& path, const std::string& name, const json& j, const std::uint8_t* data,
                       std::uint64_t data_size) {
  const std::string at = fmt::format("{}: tensor '{}'", path, name);
  FSSL_CHECK(j.is_object(), ModelError, "{}: entry is a JSON {}, not an object", at, j.type_name());
  FSSL_CHECK(j.size() == 3 && j.contains("dtype") && j.contains("shape") && j.contains("data_offsets"), ModelError,
             "{}: entry must have exactly the fields dtype, shape, data_offsets: {}", at, j.dump());
  TensorView v;
  v.name = name;
  const json& dtype = j["dtype"];
  FSSL_CHECK(dtype.is_string() && safetensors_dtype_parse(dtype.get<std::string>(), &v.dtype), ModelError,
             "{}: unknown dtype {}", at, dtype.dump());
  const json& shape = j["shape"];
  FSSL_CHECK(shape.is_array(), ModelError, "{}: shape {} is not an array", at, shape.dump());
  for (const json& d : shape) {
    FSSL_CHECK(!d.is_number_integer() || d.is_number_unsigned(), ModelError, "{}: negative shape entry {}", at,
               d.dump());
    FSSL_CHECK(d.is_number_unsigned(), ModelError, "{}: shape entry {} is not an integer", at, d.dump());
    // Checked here, not by the byte count: a zero elsewhere in the shape would hide it there.
    FSSL_CHECK(d.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
               ModelError, "{}: shape entry {} is too large", at, d.dump());
    v.shape.push_back(d.get<std::int64_t>());
  }
  std::uint64_t n_bytes = 0;
  FSSL_CHECK(byte_size(v.shape, dtype_info(v.dtype).size, &n_bytes), ModelError,
             "{}: shape {} of {} overflows a 64-bit byte count", at, shape.dump(), dtype.dump());
  const json& offsets = j["data_offsets"];
  FSSL_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                 offsets[1].is_number_unsigned(),
             ModelError, "{}: data_offsets {} is not a pair of non-negative integers", at, offsets.dump());
  const auto begin = offsets[0].get<std::uint64_t>();
  const auto end = offsets[1].get<std::uint64_t>();
  FSSL_CHECK(begin <= end, ModelError, "{}: data_offsets {} end before they begin", at, offsets.dump());
  FSSL_CHECK(end - begin == n_bytes, ModelError, "{}: shape {} of {} needs {} bytes but data_offsets {} span {}", at,
             shape.dump(), dtype.dump(), n_bytes, offsets.dump(), end - begin);
  FSSL_CHECK(end <= data_size, ModelError,
             "{}: data_offsets {} run past the end of the {}-byte data section (truncated file?)", at, offsets.dump(),
             data_size);
  v.data = data + begin;
  v.n_bytes = static_cast<std::size_t>(n_bytes);
  return v;
}

}  // namespace

bool safetensors_dtype_parse(const std::string& name, SafetensorsDtype* out) {
  const auto* it = std::find_if(kDtypes, kDtypes + kNumDtypes, [&](const DtypeInfo& d) { return name == d.name; });
  if (it == kDtypes + kNumDtypes) return false;
  *out = static_cast<SafetensorsDtype>(it - kDtypes);
  return true;
}

const char* safetensors_dtype_name(SafetensorsDtype dtype) { return dtype_info(dtype).name; }
std::size_t safetensors_dtype_size(SafetensorsDtype dtype) { return dtype_info(dtype).size; }

std::int64_t TensorView::n_elements() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

struct SafetensorsFile::Impl {
  std::string path;
  void* map = MAP_FAILED;
  std::size_t map_size = 0;
  std::vector<TensorView> tensors;
  std::unordered_map<std::string, std::size_t> index;
  std::map<std::string, std::string> metadata;
  ~Impl() { if (map != MAP_FAILED) ::munmap(map, map_size); }
};

SafetensorsFile::SafetensorsFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

const std::string& SafetensorsFile::path() const { return impl_->path; }
const std::vector<TensorView>& SafetensorsFile::tensors() const { return impl_->tensors; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->metadata; }

const TensorView* SafetensorsFile::find(const std::string& name) const {
  auto it = impl_->index.find(name);
  return it == impl_->index.end() ? nullptr : &impl_->tensors[it->second];
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  {
    const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC), path);
    FSSL_CHECK(fd.valid(), ModelError, "{}: cannot open: {}", path, std::strerror(errno));
    struct stat st {};
    FSSL_CHECK(::fstat(fd.get(), &st) == 0, ModelError, "{}: cannot stat: {}", path, std::strerror(errno));
    FSSL_CHECK(S_ISREG(st.st_mode), ModelError, "{}: not a regular file", path);
    FSSL_CHECK(st.st_size >= 8, ModelError, "{}: file is {} bytes, shorter than the 8-byte header length", path,
               st.st_size);
    impl->map_size = static_cast<std::size_t>(st.st_size);
    impl->map = ::mmap(nullptr, impl->map_size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    FSSL_CHECK(impl->map != MAP_FAILED, ModelError, "{}: mmap failed: {}", path, std::strerror(errno));
  }
  const auto* base = static_cast<const std::uint8_t*>(impl->map);
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | base[i];
  FSSL_CHECK(header_size <= kMaxHeaderBytes, ModelError, "{}: header length {} exceeds the {}-byte limit", path,
             header_size, kMaxHeaderBytes);
  FSSL_CHECK(header_size <= impl->map_size - 8, ModelError,
             "{}: header length {} runs past the end of the {}-byte file", path, header_size, impl->map_size);
  const auto* header_text = reinterpret_cast<const char*>(base + 8);
  const std::uint8_t* data = base + 8 + header_size;
  const std::uint64_t data_size = impl->map_size - 8 - header_size;

  // nlohmann keeps one value of a repeated key without a word, and a tensor named twice is the kind
  // of ambiguity a hostile file would use; this parse callback sees every key as it is read.
  std::vector<std::pair<std::set<std::string>, std::string>> objects;  // keys so far, key the object is under
  std::string last_key;
  std::string duplicate;
  auto find_duplicates = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      objects.emplace_back(std::set<std::string>{}, last_key);
    } else if (event == json::parse_event_t::object_end) {
      objects.pop_back();
    } else if (event == json::parse_event_t::key && duplicate.empty()) {
      last_key = parsed.get<std::string>();
      if (!objects.back().first.insert(last_key).second) {
        duplicate = objects.size() == 1 ? fmt::format("tensor name '{}'", last_key)
                                        : fmt::format("key '{}' in entry '{}'", last_key, objects.back().second);
      }
    }
    return true;
  };
  json header;
  try {
    header = json::parse(header_text, header_text + header_size, find_duplicates);
  } catch (const json::exception& e) {
    FSSL_THROW(ModelError, "{}: header is not valid JSON: {}", path, e.what());
  }
  FSSL_CHECK(header.is_object(), ModelError, "{}: header is a JSON {}, not an object", path, header.type_name());
  FSSL_CHECK(duplicate.empty(), ModelError, "{}: header has a duplicate {}", path, duplicate);

  std::vector<TensorView>& views = impl->tensors;
  for (const auto& [name, value] : header.items()) {
    if (name != kMetadataKey) {
      views.push_back(parse_entry(path, name, value, data, data_size));
      continue;
    }
    FSSL_CHECK(value.is_object(), ModelError, "{}: {} is a JSON {}, not an object", path, kMetadataKey,
               value.type_name());
    for (const auto& [key, text] : value.items()) {
      FSSL_CHECK(text.is_string(), ModelError, "{}: {} entry '{}' is a JSON {}, not a string", path, kMetadataKey, key,
                 text.type_name());
      impl->metadata.emplace(key, text.get<std::string>());
    }
  }
  std::sort(views.begin(), views.end(), [](const TensorView& a, const TensorView& b) {
    return std::tie(a.data, a.n_bytes, a.name) < std::tie(b.data, b.n_bytes, b.name);
  });
  // Zero-byte tensors occupy nothing, so they may sit at any offset, even inside another range.
  const TensorView* previous = nullptr;
  for (const TensorView& v : views) {
    if (v.n_bytes == 0) continue;
    FSSL_CHECK(previous == nullptr || previous->data + previous->n_bytes <= v.data, ModelError,
               "{}: tensors '{}' and '{}' overlap in the data section", path, previous->name, v.name);
    previous = &v;
  }
  for (std::size_t i = 0; i < views.size(); ++i) impl->index.emplace(views[i].name, i);
  return SafetensorsFile(std::move(impl));
}

void safetensors_write(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorToWrite*> order;
  std::set<std::string> names;
  for (const TensorToWrite& t : tensors) {
    const std::string at = fmt::format("{}: tensor '{}'", path, t.name);
    FSSL_CHECK(t.name != kMetadataKey, ModelError, "{}: the name is reserved for metadata", at);
    FSSL_CHECK(names.insert(t.name).second, ModelError, "{}: given twice", at);
    FSSL_CHECK(dtype_valid(t.dtype), ModelError, "{}: invalid dtype value {}", at, static_cast<int>(t.dtype));
    std::uint64_t n_bytes = 0;
    FSSL_CHECK(byte_size(t.shape, safetensors_dtype_size(t.dtype), &n_bytes) && n_bytes == t.n_bytes, ModelError,
               "{}: n_bytes {} does not match shape [{}] of {}", at, t.n_bytes, fmt::join(t.shape, ","),
               safetensors_dtype_name(t.dtype));
    FSSL_CHECK(t.data != nullptr || t.n_bytes == 0, ModelError, "{}: no data", at);
    order.push_back(&t);
  }
  // The Python library's order: widest dtype first (every tensor then starts aligned), then name.
  std::sort(order.begin(), order.end(), [](const TensorToWrite* a, const TensorToWrite* b) {
    const int ra = dtype_info(a->dtype).write_rank;
    const int rb = dtype_info(b->dtype).write_rank;
    return ra != rb ? ra > rb : a->name < b->name;
  });
  // ordered_json keeps insertion order, which is what makes the header byte-identical to Python's.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::uint64_t offset = 0;
  for (const TensorToWrite* t : order) {
    header[t->name] = {{"dtype", safetensors_dtype_name(t->dtype)},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->n_bytes}}};
    offset += t->n_bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    FSSL_THROW(ModelError, "{}: a tensor name or metadata string is not valid UTF-8: {}", path, e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>(text.size() >> (8 * i));

  write_file_atomic(path, [&](const FileDescriptor& fd) {
    fd.write_all(length, sizeof length);
    fd.write_all(text.data(), text.size());
    for (const TensorToWrite* t : order) fd.write_all(t->data, t->n_bytes);
  });
}

}  // namespace fssl
