// Reading the whitespace-separated golden files under tests/data (records of fields, '#' comments)
// and the float32 bit patterns they carry.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace fssl::test {

inline std::uint32_t bits_of(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}
inline float float_of(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
inline std::uint64_t hex_u64(const std::string& s) { return std::stoull(s, nullptr, 16); }
inline std::uint32_t hex_u32(const std::string& s) { return static_cast<std::uint32_t>(std::stoul(s, nullptr, 16)); }

// Every non-comment line of `path`, split on whitespace; a missing file fails the calling test.
inline std::vector<std::vector<std::string>> read_records(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing golden file " << path;
  std::vector<std::vector<std::string>> records;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    records.emplace_back(std::istream_iterator<std::string>(fields), std::istream_iterator<std::string>());
  }
  return records;
}

}  // namespace fssl::test
