// Test-only tampering with shard files through the raw HDF5 API: the edits an attacker or a
// broken disk would make, applied below fssl's reader so validation sees them cold.
#pragma once

#include <hdf5.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace fssl::test {

inline void h5_ok(long long rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string("tamper: ") + what);
}

// Overwrites element `index` of a 1-D dataset with `value` (converted to the file type).
template <typename T>
void poke(const std::string& path, const char* dataset, hsize_t index, T value, hid_t mem_type) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  h5_ok(f, "open");
  hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
  h5_ok(d, dataset);
  hid_t space = H5Dget_space(d);
  hsize_t count = 1;
  h5_ok(H5Sselect_hyperslab(space, H5S_SELECT_SET, &index, nullptr, &count, nullptr), "select");
  hid_t mem = H5Screate_simple(1, &count, nullptr);
  h5_ok(H5Dwrite(d, mem_type, mem, space, H5P_DEFAULT, &value), "write");
  H5Sclose(mem);
  H5Sclose(space);
  H5Dclose(d);
  H5Fclose(f);
}

// Reads a whole column (any rank) as raw elements of the file's type size.
inline std::vector<unsigned char> column_bytes(hid_t d, std::size_t* elem_size, std::vector<hsize_t>* dims) {
  hid_t type = H5Dget_type(d);
  *elem_size = H5Tget_size(type);
  hid_t space = H5Dget_space(d);
  dims->resize(static_cast<std::size_t>(H5Sget_simple_extent_ndims(space)));
  H5Sget_simple_extent_dims(space, dims->data(), nullptr);
  hsize_t n = 1;
  for (hsize_t x : *dims) n *= x;
  std::vector<unsigned char> out(n * *elem_size);
  if (n > 0) h5_ok(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), "read column");
  H5Sclose(space);
  H5Tclose(type);
  return out;
}

// Rewrites every /messages/* column as rows[new_row] = old row `order[new_row]`: deleting,
// duplicating or reordering whole records while keeping each record's stored digest.
inline void permute_rows(const std::string& path, const std::vector<hsize_t>& order) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  h5_ok(f, "open");
  hid_t group = H5Gopen2(f, "/messages", H5P_DEFAULT);
  h5_ok(group, "/messages");
  H5G_info_t info;
  h5_ok(H5Gget_info(group, &info), "group info");
  std::vector<std::string> names;  // every column, those of format v2 included
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char name[256];
    h5_ok(H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT), "link name");
    names.push_back(name);
  }
  H5Gclose(group);
  for (const std::string& name : names) {
    hid_t d = H5Dopen2(f, ("/messages/" + name).c_str(), H5P_DEFAULT);
    h5_ok(d, name.c_str());
    std::size_t elem = 0;
    std::vector<hsize_t> dims;
    std::vector<unsigned char> old = column_bytes(d, &elem, &dims);
    const std::size_t row_bytes = elem * (dims.size() == 2 ? dims[1] : 1);
    std::vector<unsigned char> now(order.size() * row_bytes);
    for (std::size_t r = 0; r < order.size(); ++r) {
      std::copy_n(old.begin() + static_cast<std::ptrdiff_t>(order[r] * row_bytes), row_bytes,
                  now.begin() + static_cast<std::ptrdiff_t>(r * row_bytes));
    }
    dims[0] = order.size();
    h5_ok(H5Dset_extent(d, dims.data()), "set_extent");
    hid_t type = H5Dget_type(d);
    h5_ok(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, now.data()), "rewrite column");
    H5Tclose(type);
    H5Dclose(d);
  }
  H5Fclose(f);
}

// Replaces an integer attribute (deleting and recreating it).
inline void set_int_attribute(const std::string& path, const char* name, long long value) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  h5_ok(f, "open");
  h5_ok(H5Adelete(f, name), "delete attribute");
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
  h5_ok(H5Awrite(a, H5T_NATIVE_LLONG, &value), "write attribute");
  H5Aclose(a);
  H5Sclose(space);
  H5Fclose(f);
}

inline void delete_link(const std::string& path, const char* name) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  h5_ok(f, "open");
  h5_ok(H5Ldelete(f, name, H5P_DEFAULT), "delete link");
  H5Fclose(f);
}

inline void delete_attribute(const std::string& path, const char* name) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  h5_ok(f, "open");
  h5_ok(H5Adelete(f, name), "delete attribute");
  H5Fclose(f);
}

// Turns an fssl shard into the v1 format: the v2 datasets, the /processors group and the engine
// table removed, format_version 1. A shard whose records carry no processors and no engine is then
// exactly what a v1 writer wrote (their digests are v1 digests).
inline void downgrade_to_v1(const std::string& path) {
  for (const char* name : {"repetition_penalty", "presence_penalty", "frequency_penalty", "min_tokens",
                           "repeat_last_n", "engine", "stop_offset", "stop_length", "allowed_offset",
                           "allowed_length", "logit_bias_offset", "logit_bias_length", "bad_words_offset",
                           "bad_words_length"}) {
    delete_link(path, (std::string("/messages/") + name).c_str());
  }
  delete_link(path, "/processors");
  delete_attribute(path, "engines");
  set_int_attribute(path, "format_version", 1);
}

}  // namespace fssl::test
