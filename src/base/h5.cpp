// HDF5 wrappers (fssl/h5.h): handles, typed datasets, attributes.
#include "fssl/h5.h"

#include <algorithm>
#include <cstring>
#include <memory>

namespace fssl::h5 {
namespace {

herr_t collect_error(unsigned n, const H5E_error2_t* err, void* client) {
  auto* out = static_cast<std::string*>(client);
  if (n > 0) *out += "; ";
  *out += err->func_name ? err->func_name : "?";
  *out += ": ";
  *out += err->desc ? err->desc : "?";
  return 0;
}

// "file.h5:/path" for messages; never throws.
std::string describe(hid_t obj) {
  char file[1024] = "?", path[1024] = "?";
  H5Fget_name(obj, file, sizeof file);
  H5Iget_name(obj, path, sizeof path);
  const char* base = std::strrchr(file, '/');
  return std::string(base ? base + 1 : file) + ":" + path;
}

}  // namespace

std::string error_stack() {
  std::string out;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &out);
  H5Eclear2(H5E_DEFAULT);
  return out.empty() ? "no HDF5 error recorded" : out;
}

void silence_auto_printing() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void Handle::reset() noexcept {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: H5Idec_ref(id_); break;
  }
  id_ = H5I_INVALID_HID;
}

void Handle::close() {
  if (id_ < 0) return;
  hid_t id = id_;
  id_ = H5I_INVALID_HID;
  if (H5Iget_type(id) == H5I_FILE) {
    FSSL_H5_CHECK(H5Fclose(id), ArchiveError, "closing file");
  } else {
    Handle tmp(id);
  }
}

template <> hid_t native_type<std::int32_t>() { return H5T_NATIVE_INT32; }
template <> hid_t native_type<std::int64_t>() { return H5T_NATIVE_INT64; }
template <> hid_t native_type<std::uint8_t>() { return H5T_NATIVE_UINT8; }
template <> hid_t native_type<std::uint16_t>() { return H5T_NATIVE_UINT16; }
template <> hid_t native_type<std::uint32_t>() { return H5T_NATIVE_UINT32; }
template <> hid_t native_type<std::uint64_t>() { return H5T_NATIVE_UINT64; }
template <> hid_t native_type<float>() { return H5T_NATIVE_FLOAT; }
template <> hid_t native_type<double>() { return H5T_NATIVE_DOUBLE; }
template <> hid_t file_type<std::int32_t>() { return H5T_STD_I32LE; }
template <> hid_t file_type<std::int64_t>() { return H5T_STD_I64LE; }
template <> hid_t file_type<std::uint8_t>() { return H5T_STD_U8LE; }
template <> hid_t file_type<std::uint16_t>() { return H5T_STD_U16LE; }
template <> hid_t file_type<std::uint32_t>() { return H5T_STD_U32LE; }
template <> hid_t file_type<std::uint64_t>() { return H5T_STD_U64LE; }
template <> hid_t file_type<float>() { return H5T_IEEE_F32LE; }
template <> hid_t file_type<double>() { return H5T_IEEE_F64LE; }

Handle file_create(const std::string& path) {
  Handle fapl(FSSL_H5_CHECK(H5Pcreate(H5P_FILE_ACCESS), ArchiveError, "{}", path));
  // v18 object headers keep files readable by every HDF5 >= 1.8 (and h5py builds on it).
  FSSL_H5_CHECK(H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), ArchiveError, "{}", path);
  return Handle(FSSL_H5_CHECK(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()),
                              ArchiveError, "{}: cannot create", path));
}

Handle file_open_read(const std::string& path) {
  return Handle(FSSL_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), ArchiveError,
                              "{}: not a readable HDF5 file (truncated or corrupt?)", path));
}

Handle file_open_write(const std::string& path) {
  return Handle(FSSL_H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), ArchiveError,
                              "{}: cannot open for writing", path));
}

bool link_exists(hid_t loc, const std::string& path) {
  // H5Lexists fails on a missing intermediate group: walk the path component by component.
  std::size_t pos = 0;
  while (true) {
    std::size_t slash = path.find('/', pos + 1);
    std::string prefix = path.substr(0, slash);
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    if (slash == std::string::npos) return true;
    pos = slash;
  }
}

Handle group_create(hid_t loc, const std::string& name) {
  return Handle(FSSL_H5_CHECK(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                              ArchiveError, "{}: creating group {}", describe(loc), name));
}

Handle dataset_open(hid_t loc, const std::string& name) {
  return Handle(FSSL_H5_CHECK(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), ArchiveError,
                              "{}: missing dataset {}", describe(loc), name));
}

template <typename T>
Handle dataset_create_extendible(hid_t loc, const std::string& name, hsize_t inner, const ChunkedLayout& layout) {
  const int rank = inner > 0 ? 2 : 1;
  hsize_t dims[2] = {0, inner}, max_dims[2] = {H5S_UNLIMITED, inner}, chunk[2] = {layout.chunk_rows, inner};
  Handle space(FSSL_H5_CHECK(H5Screate_simple(rank, dims, max_dims), ArchiveError, "{}", name));
  Handle dcpl(FSSL_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), ArchiveError, "{}", name));
  FSSL_H5_CHECK(H5Pset_chunk(dcpl.id(), rank, chunk), ArchiveError, "{}", name);
  if (layout.shuffle) FSSL_H5_CHECK(H5Pset_shuffle(dcpl.id()), ArchiveError, "{}", name);
  if (layout.deflate_level > 0) {
    FSSL_H5_CHECK(H5Pset_deflate(dcpl.id(), static_cast<unsigned>(layout.deflate_level)), ArchiveError, "{}", name);
  }
  return Handle(FSSL_H5_CHECK(H5Dcreate2(loc, name.c_str(), file_type<T>(), space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                              ArchiveError, "{}: creating dataset {}", describe(loc), name));
}

std::vector<hsize_t> dataset_shape(hid_t dataset) {
  Handle space(FSSL_H5_CHECK(H5Dget_space(dataset), ArchiveError, "{}", describe(dataset)));
  int rank = FSSL_H5_CHECK(H5Sget_simple_extent_ndims(space.id()), ArchiveError, "{}", describe(dataset));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
  return dims;
}

template <typename T>
void dataset_append(hid_t dataset, const T* data, hsize_t n_rows) {
  if (n_rows == 0) return;
  std::vector<hsize_t> shape = dataset_shape(dataset);
  std::vector<hsize_t> new_shape = shape, start(shape.size(), 0), count = shape;
  new_shape[0] += n_rows;
  start[0] = shape[0];
  count[0] = n_rows;
  FSSL_H5_CHECK(H5Dset_extent(dataset, new_shape.data()), ArchiveError, "{}", describe(dataset));
  Handle file_space(FSSL_H5_CHECK(H5Dget_space(dataset), ArchiveError, "{}", describe(dataset)));
  FSSL_H5_CHECK(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
                ArchiveError, "{}", describe(dataset));
  Handle mem_space(FSSL_H5_CHECK(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                                 ArchiveError, "{}", describe(dataset)));
  FSSL_H5_CHECK(H5Dwrite(dataset, native_type<T>(), mem_space.id(), file_space.id(), H5P_DEFAULT, data),
                ArchiveError, "{}: append", describe(dataset));
}

template <typename T>
std::vector<T> dataset_read_all(hid_t dataset) {
  std::vector<hsize_t> shape = dataset_shape(dataset);
  hsize_t n = 1;
  for (hsize_t d : shape) n *= d;
  std::vector<T> out(n);
  if (n > 0) {
    FSSL_H5_CHECK(H5Dread(dataset, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
                  ArchiveError, "{}: read", describe(dataset));
  }
  return out;
}

template <typename T>
void dataset_read_range(hid_t dataset, hsize_t start, hsize_t count, T* out) {
  dataset_read_ranges<T>(dataset, {{start, count}}, out);
}

template <typename T>
void dataset_read_ranges(hid_t dataset, const std::vector<std::pair<hsize_t, hsize_t>>& ranges, T* out) {
  hsize_t total = 0;
  Handle file_space(FSSL_H5_CHECK(H5Dget_space(dataset), ArchiveError, "{}", describe(dataset)));
  FSSL_H5_CHECK(H5Sselect_none(file_space.id()), ArchiveError, "{}", describe(dataset));
  for (const auto& [start, count] : ranges) {
    if (count == 0) continue;
    FSSL_H5_CHECK(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_OR, &start, nullptr, &count, nullptr),
                  ArchiveError, "{}: range [{}, +{})", describe(dataset), start, count);
    total += count;
  }
  if (total == 0) return;
  Handle mem_space(FSSL_H5_CHECK(H5Screate_simple(1, &total, nullptr), ArchiveError, "{}", describe(dataset)));
  FSSL_H5_CHECK(H5Dread(dataset, native_type<T>(), mem_space.id(), file_space.id(), H5P_DEFAULT, out),
                ArchiveError, "{}: read of {} elements", describe(dataset), total);
}

namespace {

// HDF5 requires 1 <= chunk <= extent on fixed dimensions, so an empty dataset cannot be chunked.
Handle dataset_create_fixed(hid_t loc, const std::string& name, hid_t type, const std::vector<hsize_t>& dims,
                            const ChunkedLayout* layout) {
  FSSL_ASSERT(dims.size() == 1 || dims.size() == 2);
  hsize_t n = 1;
  for (hsize_t d : dims) n *= d;
  const int rank = static_cast<int>(dims.size());
  Handle space(FSSL_H5_CHECK(H5Screate_simple(rank, dims.data(), nullptr), ArchiveError, "{}", name));
  Handle dcpl(FSSL_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), ArchiveError, "{}", name));
  if (layout != nullptr && n > 0) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = std::min(dims[0], std::max<hsize_t>(layout->chunk_rows, 1));
    FSSL_H5_CHECK(H5Pset_chunk(dcpl.id(), rank, chunk.data()), ArchiveError, "{}", name);
    if (layout->shuffle) FSSL_H5_CHECK(H5Pset_shuffle(dcpl.id()), ArchiveError, "{}", name);
    if (layout->deflate_level > 0) {
      FSSL_H5_CHECK(H5Pset_deflate(dcpl.id(), static_cast<unsigned>(layout->deflate_level)), ArchiveError, "{}",
                    name);
    }
  }
  return Handle(FSSL_H5_CHECK(H5Dcreate2(loc, name.c_str(), type, space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                              ArchiveError, "{}: creating dataset {}", describe(loc), name));
}

Handle vlen_utf8_type() {
  Handle type(FSSL_H5_CHECK(H5Tcopy(H5T_C_S1), ArchiveError, "string type"));
  FSSL_H5_CHECK(H5Tset_size(type.id(), H5T_VARIABLE), ArchiveError, "string type");
  FSSL_H5_CHECK(H5Tset_cset(type.id(), H5T_CSET_UTF8), ArchiveError, "string type");
  return type;
}

}  // namespace

template <typename T>
Handle dataset_write_array(hid_t loc, const std::string& name, const std::vector<hsize_t>& dims, const T* data,
                           const ChunkedLayout& layout) {
  Handle dataset = dataset_create_fixed(loc, name, file_type<T>(), dims, &layout);
  hsize_t n = 1;
  for (hsize_t d : dims) n *= d;
  if (n > 0) {
    FSSL_H5_CHECK(H5Dwrite(dataset.id(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data), ArchiveError,
                  "{}: write", describe(dataset.id()));
  }
  return dataset;
}

Handle dataset_write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  Handle type = vlen_utf8_type();
  // Contiguous: filters on a variable-length dataset would compress only the heap references.
  Handle dataset = dataset_create_fixed(loc, name, type.id(), {values.size()}, nullptr);
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const std::string& v : values) ptrs.push_back(v.c_str());
  if (!ptrs.empty()) {
    FSSL_H5_CHECK(H5Dwrite(dataset.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), ArchiveError,
                  "{}: write", describe(dataset.id()));
  }
  return dataset;
}

void attribute_write_uint64(hid_t obj, const std::string& name, std::uint64_t value) {
  // Not attribute_write_int: an int64 source would clip values >= 2^63 to 0 in the conversion.
  Handle space(FSSL_H5_CHECK(H5Screate(H5S_SCALAR), ArchiveError, "attribute {}", name));
  Handle attr(FSSL_H5_CHECK(H5Acreate2(obj, name.c_str(), H5T_STD_U64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                            ArchiveError, "creating attribute {}", name));
  FSSL_H5_CHECK(H5Awrite(attr.id(), H5T_NATIVE_UINT64, &value), ArchiveError, "writing attribute {}", name);
}

void attribute_write_doubles(hid_t obj, const std::string& name, const std::vector<double>& values) {
  hsize_t dims = values.size();
  Handle space(FSSL_H5_CHECK(H5Screate_simple(1, &dims, nullptr), ArchiveError, "attribute {}", name));
  Handle attr(FSSL_H5_CHECK(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                            ArchiveError, "creating attribute {}", name));
  if (!values.empty()) {
    FSSL_H5_CHECK(H5Awrite(attr.id(), H5T_NATIVE_DOUBLE, values.data()), ArchiveError, "writing attribute {}", name);
  }
}

#define FSSL_H5_INSTANTIATE(T)                                                                          \
  template Handle dataset_create_extendible<T>(hid_t, const std::string&, hsize_t, const ChunkedLayout&); \
  template void dataset_append<T>(hid_t, const T*, hsize_t);                                            \
  template std::vector<T> dataset_read_all<T>(hid_t);                                                   \
  template void dataset_read_range<T>(hid_t, hsize_t, hsize_t, T*);                                     \
  template void dataset_read_ranges<T>(hid_t, const std::vector<std::pair<hsize_t, hsize_t>>&, T*);     \
  template Handle dataset_write_array<T>(hid_t, const std::string&, const std::vector<hsize_t>&,        \
                                         const T*, const ChunkedLayout&);
FSSL_H5_INSTANTIATE(std::int32_t)
FSSL_H5_INSTANTIATE(std::int64_t)
FSSL_H5_INSTANTIATE(std::uint8_t)
FSSL_H5_INSTANTIATE(std::uint16_t)
FSSL_H5_INSTANTIATE(std::uint32_t)
FSSL_H5_INSTANTIATE(std::uint64_t)
FSSL_H5_INSTANTIATE(float)
FSSL_H5_INSTANTIATE(double)
#undef FSSL_H5_INSTANTIATE

}  // namespace fssl::h5
