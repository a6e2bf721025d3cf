// HDF5 attribute helpers (fssl/h5.h): strings in either HDF5 string flavour, integers, byte arrays.
#include <cstring>

#include "fssl/h5.h"

namespace fssl::h5 {
namespace {

std::string object_name(hid_t obj) {
  char path[1024] = "?";
  H5Iget_name(obj, path, sizeof path);
  return path;
}

struct OpenedAttribute {
  Handle attr, type;
  hssize_t n_points = 0;
};

// Opens an attribute and checks its type class (`kind` names it in the error).
OpenedAttribute attribute_open_as(hid_t obj, const std::string& name, H5T_class_t type_class, const char* kind) {
  OpenedAttribute a;
  a.attr = Handle(FSSL_H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT), ArchiveError, "{}: missing attribute '{}'",
                                object_name(obj), name));
  a.type = Handle(FSSL_H5_CHECK(H5Aget_type(a.attr.id()), ArchiveError, "attribute {}", name));
  FSSL_CHECK(H5Tget_class(a.type.id()) == type_class, ArchiveError, "{}: attribute '{}' is not {}", object_name(obj),
             name, kind);
  Handle space(FSSL_H5_CHECK(H5Aget_space(a.attr.id()), ArchiveError, "attribute {}", name));
  a.n_points = H5Sget_simple_extent_npoints(space.id());
  return a;
}

}  // namespace

bool attribute_exists(hid_t obj, const std::string& name) {
  htri_t rc = H5Aexists(obj, name.c_str());
  if (rc < 0) H5Eclear2(H5E_DEFAULT);
  return rc > 0;
}

void attribute_write_string(hid_t obj, const std::string& name, const std::string& value) {
  // Variable-length UTF-8: what h5py writes for a Python str, and reads back as str.
  Handle type(FSSL_H5_CHECK(H5Tcopy(H5T_C_S1), ArchiveError, "attribute {}", name));
  FSSL_H5_CHECK(H5Tset_size(type.id(), H5T_VARIABLE), ArchiveError, "attribute {}", name);
  FSSL_H5_CHECK(H5Tset_cset(type.id(), H5T_CSET_UTF8), ArchiveError, "attribute {}", name);
  Handle space(FSSL_H5_CHECK(H5Screate(H5S_SCALAR), ArchiveError, "attribute {}", name));
  Handle attr(FSSL_H5_CHECK(H5Acreate2(obj, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
                            ArchiveError, "creating attribute {}", name));
  const char* ptr = value.c_str();
  FSSL_H5_CHECK(H5Awrite(attr.id(), type.id(), &ptr), ArchiveError, "writing attribute {}", name);
}

std::string attribute_read_string(hid_t obj, const std::string& name) {
  auto [attr, type, n_points] = attribute_open_as(obj, name, H5T_STRING, "a string");
  FSSL_CHECK(n_points == 1, ArchiveError, "{}: attribute '{}' must be a scalar string", object_name(obj), name);
  if (H5Tis_variable_str(type.id()) > 0) {
    Handle mem_type(FSSL_H5_CHECK(H5Tcopy(H5T_C_S1), ArchiveError, "attribute {}", name));
    H5Tset_size(mem_type.id(), H5T_VARIABLE);
    H5Tset_cset(mem_type.id(), H5Tget_cset(type.id()));
    char* ptr = nullptr;
    FSSL_H5_CHECK(H5Aread(attr.id(), mem_type.id(), &ptr), ArchiveError, "reading attribute {}", name);
    std::string out = ptr != nullptr ? ptr : "";
    H5free_memory(ptr);
    return out;
  }
  std::size_t size = H5Tget_size(type.id());
  std::string out(size, '\0');
  FSSL_H5_CHECK(H5Aread(attr.id(), type.id(), out.data()), ArchiveError, "reading attribute {}", name);
  out.resize(std::strlen(out.c_str()));  // fixed-length strings are NUL- or space-padded
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

void attribute_write_int(hid_t obj, const std::string& name, std::int64_t value, hid_t file_type) {
  Handle space(FSSL_H5_CHECK(H5Screate(H5S_SCALAR), ArchiveError, "attribute {}", name));
  Handle attr(FSSL_H5_CHECK(H5Acreate2(obj, name.c_str(), file_type, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                            ArchiveError, "creating attribute {}", name));
  FSSL_H5_CHECK(H5Awrite(attr.id(), H5T_NATIVE_INT64, &value), ArchiveError, "writing attribute {}", name);
}

std::int64_t attribute_read_int64(hid_t obj, const std::string& name) {
  auto [attr, type, n_points] = attribute_open_as(obj, name, H5T_INTEGER, "an integer");
  FSSL_CHECK(n_points == 1, ArchiveError, "{}: attribute '{}' must hold one integer", object_name(obj), name);
  std::int64_t value = 0;
  FSSL_H5_CHECK(H5Aread(attr.id(), H5T_NATIVE_INT64, &value), ArchiveError, "reading attribute {}", name);
  return value;
}

void attribute_write_bytes(hid_t obj, const std::string& name, const std::uint8_t* data, std::size_t n) {
  hsize_t dims = n;
  Handle space(FSSL_H5_CHECK(H5Screate_simple(1, &dims, nullptr), ArchiveError, "attribute {}", name));
  Handle attr(FSSL_H5_CHECK(H5Acreate2(obj, name.c_str(), H5T_STD_U8LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                            ArchiveError, "creating attribute {}", name));
  FSSL_H5_CHECK(H5Awrite(attr.id(), H5T_NATIVE_UINT8, data), ArchiveError, "writing attribute {}", name);
}

std::vector<std::uint8_t> attribute_read_bytes(hid_t obj, const std::string& name) {
  auto [attr, type, n_points] = attribute_open_as(obj, name, H5T_INTEGER, "an array of bytes");
  FSSL_CHECK(H5Tget_size(type.id()) == 1, ArchiveError, "{}: attribute '{}' must be an array of bytes",
             object_name(obj), name);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(n_points > 0 ? n_points : 0));
  if (!out.empty()) {
    FSSL_H5_CHECK(H5Aread(attr.id(), H5T_NATIVE_UINT8, out.data()), ArchiveError, "reading attribute {}", name);
  }
  return out;
}

}  // namespace fssl::h5
