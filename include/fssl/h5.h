// Checked, owning wrappers over the HDF5 C API (HighFive is not packaged for Debian 12).
// Every call that can fail goes through FSSL_H5_CHECK, which walks the HDF5 error stack into the
// exception text. HDF5 in this build is not thread-safe: one thread per rank calls these.
// Private to src/: the archive and results modules use it; nothing in include/ exposes hid_t.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fssl/error.h"

namespace fssl::h5 {

// The HDF5 error stack of the calling thread as "func: description; ..." (and clears it).
std::string error_stack();

// Turns off HDF5's automatic stderr printing (fssl reports errors itself). Idempotent.
void silence_auto_printing();

}  // namespace fssl::h5

// Evaluates an HDF5 call returning herr_t or hid_t; negative => ErrorType with the error stack.
#define FSSL_H5_CHECK(expr, ErrorType, ...)                                                     \
  ([&]() {                                                                                      \
    auto fssl_h5_rc_ = (expr);                                                                  \
    if (fssl_h5_rc_ < 0) {                                                                      \
      FSSL_THROW(ErrorType, "{}: {}", fmt::format(__VA_ARGS__), ::fssl::h5::error_stack());     \
    }                                                                                           \
    return fssl_h5_rc_;                                                                         \
  }())

namespace fssl::h5 {

// Owns one HDF5 identifier (file, group, dataset, dataspace, datatype, property list, attribute).
// Move-only; the move nulls the source; the destructor closes and never throws.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      other.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now; for files this flushes, so errors matter: throws ArchiveError on failure.
  void close();
  void reset() noexcept;

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Maps C++ element types to HDF5 native (memory) and little-endian (file) types.
template <typename T> hid_t native_type();
template <typename T> hid_t file_type();

// Files. `what` names the file in error messages.
Handle file_create(const std::string& path);        // truncates; libver bounds v18..latest
Handle file_open_read(const std::string& path);
Handle file_open_write(const std::string& path);

bool link_exists(hid_t loc, const std::string& path);
Handle group_create(hid_t loc, const std::string& name);
Handle dataset_open(hid_t loc, const std::string& name);

// A chunked, extendible dataset of shape [0, inner] (inner = 0 means 1-D [0]).
struct ChunkedLayout {
  hsize_t chunk_rows = 4096;
  int deflate_level = 4;   // 0 = none
  bool shuffle = false;
};
template <typename T>
Handle dataset_create_extendible(hid_t loc, const std::string& name, hsize_t inner, const ChunkedLayout& layout);

// Appends n_rows rows (each of `inner` elements, or 1 for 1-D) to an extendible dataset.
template <typename T>
void dataset_append(hid_t dataset, const T* data, hsize_t n_rows);

// A new fixed-shape dataset `name` of shape `dims` (rank 1 or 2, extents may be 0) holding `data`
// (product(dims) elements, row-major), written in one call. Non-empty datasets are chunked along
// dim 0 (at most layout.chunk_rows rows) and filtered per `layout`; empty ones are contiguous.
template <typename T>
Handle dataset_write_array(hid_t loc, const std::string& name, const std::vector<hsize_t>& dims, const T* data,
                           const ChunkedLayout& layout);
// A new 1-D dataset [n] of variable-length UTF-8 strings (h5py: `ds.asstr()[...]` gives str).
Handle dataset_write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values);

// Shape of a dataset (rank 1 or 2).
std::vector<hsize_t> dataset_shape(hid_t dataset);
// Reads the whole dataset, converting to T.
template <typename T>
std::vector<T> dataset_read_all(hid_t dataset);
// Reads elements [start, start + count) of a 1-D dataset into out.
template <typename T>
void dataset_read_range(hid_t dataset, hsize_t start, hsize_t count, T* out);
// Reads the union of 1-D ranges (sorted by start, non-overlapping) into out, concatenated in order.
template <typename T>
void dataset_read_ranges(hid_t dataset, const std::vector<std::pair<hsize_t, hsize_t>>& ranges, T* out);

// Attributes on any object.
bool attribute_exists(hid_t obj, const std::string& name);
void attribute_write_string(hid_t obj, const std::string& name, const std::string& value);
std::string attribute_read_string(hid_t obj, const std::string& name);  // vlen or fixed
// Writes a scalar integer attribute stored as `file_type` (e.g. H5T_STD_I32LE).
void attribute_write_int(hid_t obj, const std::string& name, std::int64_t value, hid_t file_type);
std::int64_t attribute_read_int64(hid_t obj, const std::string& name);  // any integer type
void attribute_write_uint64(hid_t obj, const std::string& name, std::uint64_t value);  // scalar u64
// A 1-D float64 attribute [n]; n may be 0 (h5py reads an empty array).
void attribute_write_doubles(hid_t obj, const std::string& name, const std::vector<double>& values);
void attribute_write_bytes(hid_t obj, const std::string& name, const std::uint8_t* data, std::size_t n);
std::vector<std::uint8_t> attribute_read_bytes(hid_t obj, const std::string& name);

}  // namespace fssl::h5
