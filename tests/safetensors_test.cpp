// Safetensors reader and writer against files written by Hugging Face's Python library
// (tests/data/safetensors/generate.py), plus hostile and truncated headers built by hand.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "fssl/error.h"
#include "fssl/safetensors.h"
#include "test_util.h"

namespace fssl {
namespace {

using test::TempDir;
using Bytes = std::vector<std::uint8_t>;

std::string reference_path(const std::string& name) {
  return (std::filesystem::path(__FILE__).parent_path() / "data" / "safetensors" / name).string();
}

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
}

// A file with the given 8-byte length field, header text and `data_bytes` zero bytes of data.
std::string hostile_file(const TempDir& dir, const std::string& header, std::size_t data_bytes = 0,
                         std::uint64_t length = UINT64_MAX) {
  if (length == UINT64_MAX) length = header.size();
  Bytes b;
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(length >> (8 * i)));
  b.insert(b.end(), header.begin(), header.end());
  b.resize(b.size() + data_bytes, 0);
  static int n = 0;
  const std::string path = dir / ("hostile" + std::to_string(n++) + ".safetensors");
  write_bytes(path, b);
  return path;
}

// Opens `path`, expecting a ModelError whose message starts with the path and names `parts`.
void expect_rejected(const std::string& path, const std::vector<std::string>& parts) {
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE() << path << " was accepted";
  } catch (const ModelError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(path + ": ", 0), 0u) << what;
    for (const auto& part : parts) EXPECT_NE(what.find(part), std::string::npos) << "'" << part << "' not in: " << what;
  }
}

std::string entry(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return R"({"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
}

template <class T>
std::vector<T> values(const TensorView& v) {
  std::vector<T> out(v.n_bytes / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), v.data, v.n_bytes);  // views need not be aligned
  return out;
}

// The tensors of reference.safetensors, from the formulas in generate.py.
struct Reference {
  std::vector<std::uint8_t> a_bool{0, 1, 0, 1, 0};
  std::vector<std::uint8_t> b_u8{0, 40, 80, 120, 160, 200};
  std::vector<std::int8_t> c_i8{0, -3, -6, -9};
  std::vector<std::int16_t> d_i16{7, -993, -1993};
  std::vector<std::uint16_t> e_f16{0xBC00, 0xB800, 0x0000, 0x3800};  // -1 -0.5 0 0.5
  std::vector<std::uint16_t> f_bf16{0x3F80, 0xC020, 0x4049};         // 1 -2.5 3.140625
  std::vector<std::int32_t> g_i32{-150000, -50000, 50000, 150000};
  std::vector<float> h_f32{1.0f, 1.25f, 1.5f, 1.75f, 2.0f, 2.25f};
  std::vector<double> i_f64{-0.125, 0.125, 0.375};
  std::vector<std::int64_t> j_i64{-(std::int64_t{1} << 40), (std::int64_t{1} << 62) + 5};
  std::vector<float> k_empty;
  std::vector<double> l_scalar{3.5};
  std::map<std::string, std::string> metadata{{"note", "fssl reference \"v1\"\t\u00fc"}};

  template <class T>
  static TensorToWrite t(const char* name, SafetensorsDtype dtype, std::vector<std::int64_t> shape,
                         const std::vector<T>& v) {
    return {name, dtype, std::move(shape), v.data(), v.size() * sizeof(T)};
  }
  // Deliberately in neither name nor file order.
  std::vector<TensorToWrite> to_write() const {
    using D = SafetensorsDtype;
    return {t("e.f16", D::kF16, {2, 2}, e_f16),    t("a.bool", D::kBool, {5}, a_bool),
            t("k.empty", D::kF32, {0, 4}, k_empty), t("h.f32", D::kF32, {2, 3}, h_f32),
            t("j.i64", D::kI64, {2}, j_i64),        t("c.i8", D::kI8, {4}, c_i8),
            t("l.scalar", D::kF64, {}, l_scalar),   t("g.i32", D::kI32, {2, 2}, g_i32),
            t("b.u8", D::kU8, {2, 3}, b_u8),        t("i.f64", D::kF64, {3}, i_f64),
            t("f.bf16", D::kBF16, {3}, f_bf16),     t("d.i16", D::kI16, {3}, d_i16)};
  }
};

TEST(Safetensors, DtypeNamesAndSizesRoundTrip) {
  const std::vector<std::pair<std::string, std::size_t>> expected{{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2},
                                                                  {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
                                                                  {"U8", 1},  {"BOOL", 1}};
  for (const auto& [name, size] : expected) {
    SafetensorsDtype d = SafetensorsDtype::kBool;
    ASSERT_TRUE(safetensors_dtype_parse(name, &d)) << name;
    EXPECT_EQ(safetensors_dtype_name(d), name);
    EXPECT_EQ(safetensors_dtype_size(d), size) << name;
  }
  SafetensorsDtype d = SafetensorsDtype::kF32;
  EXPECT_FALSE(safetensors_dtype_parse("F8_E4M3", &d));
  EXPECT_FALSE(safetensors_dtype_parse("f32", &d));
}

TEST(Safetensors, ReadsPythonWrittenReferenceFile) {
  const Reference ref;
  const SafetensorsFile f = SafetensorsFile::open(reference_path("reference.safetensors"));
  std::vector<std::string> names;
  for (const auto& t : f.tensors()) names.push_back(t.name);
  // Data-offset order as the Python library laid it out: widest dtype first, then by name.
  EXPECT_EQ(names, (std::vector<std::string>{"j.i64", "i.f64", "l.scalar", "h.f32", "k.empty", "g.i32", "f.bf16",
                                             "e.f16", "d.i16", "c.i8", "b.u8", "a.bool"}));
  for (std::size_t i = 1; i < f.tensors().size(); ++i) EXPECT_LE(f.tensors()[i - 1].data, f.tensors()[i].data);

  auto get = [&](const std::string& name, SafetensorsDtype dtype, std::vector<std::int64_t> shape) {
    const TensorView* v = f.find(name);
    EXPECT_NE(v, nullptr) << name;
    if (v == nullptr) return TensorView{};
    EXPECT_EQ(v->dtype, dtype) << name;
    EXPECT_EQ(v->shape, shape) << name;
    EXPECT_EQ(v->n_bytes, static_cast<std::size_t>(v->n_elements()) * safetensors_dtype_size(dtype)) << name;
    return *v;
  };
  using D = SafetensorsDtype;
  EXPECT_EQ(values<std::uint8_t>(get("a.bool", D::kBool, {5})), ref.a_bool);
  EXPECT_EQ(values<std::uint8_t>(get("b.u8", D::kU8, {2, 3})), ref.b_u8);
  EXPECT_EQ(values<std::int8_t>(get("c.i8", D::kI8, {4})), ref.c_i8);
  EXPECT_EQ(values<std::int16_t>(get("d.i16", D::kI16, {3})), ref.d_i16);
  EXPECT_EQ(values<std::uint16_t>(get("e.f16", D::kF16, {2, 2})), ref.e_f16);
  EXPECT_EQ(values<std::uint16_t>(get("f.bf16", D::kBF16, {3})), ref.f_bf16);
  EXPECT_EQ(values<std::int32_t>(get("g.i32", D::kI32, {2, 2})), ref.g_i32);
  EXPECT_EQ(values<float>(get("h.f32", D::kF32, {2, 3})), ref.h_f32);
  EXPECT_EQ(values<double>(get("i.f64", D::kF64, {3})), ref.i_f64);
  EXPECT_EQ(values<std::int64_t>(get("j.i64", D::kI64, {2})), ref.j_i64);
  EXPECT_EQ(get("k.empty", D::kF32, {0, 4}).n_elements(), 0);
  const TensorView scalar = get("l.scalar", D::kF64, {});
  EXPECT_EQ(scalar.n_elements(), 1);
  EXPECT_EQ(values<double>(scalar), ref.l_scalar);
  EXPECT_EQ(f.metadata(), ref.metadata);
  EXPECT_EQ(f.find("h.f32"), &f.tensors()[3]);
  EXPECT_EQ(f.find("nope"), nullptr);
  EXPECT_EQ(f.find("__metadata__"), nullptr);
}

TEST(Safetensors, ReadsPythonWrittenEmptyFile) {
  const SafetensorsFile f = SafetensorsFile::open(reference_path("empty.safetensors"));
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_TRUE(f.metadata().empty());
}

TEST(Safetensors, WriterIsByteIdenticalToPythonLibrary) {
  TempDir dir;
  const Reference ref;
  safetensors_write(dir / "out.safetensors", ref.to_write(), ref.metadata);
  EXPECT_EQ(read_bytes(dir / "out.safetensors"), read_bytes(reference_path("reference.safetensors")));
  safetensors_write(dir / "empty.safetensors", {});
  EXPECT_EQ(read_bytes(dir / "empty.safetensors"), read_bytes(reference_path("empty.safetensors")));
  EXPECT_FALSE(std::filesystem::exists(dir / "out.safetensors.tmp"));
}

TEST(Safetensors, WriterRoundTripsAndAlignsEveryTensor) {
  TempDir dir;
  const std::vector<double> wide{0.5, -7.25};
  const std::vector<std::uint8_t> odd{1, 2, 3};
  const std::vector<std::int32_t> word{-5};
  const std::vector<std::uint16_t> half{0x3C00};
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"b", "2"}, {"a", ""}};
  using D = SafetensorsDtype;
  // In name order c.int would start at byte 19; widest-first puts every tensor on its own alignment.
  safetensors_write(dir / "x.safetensors",
                    {{"d.half", D::kF16, {1}, half.data(), 2}, {"b.odd", D::kU8, {3}, odd.data(), 3},
                     {"a.wide", D::kF64, {2, 1}, wide.data(), 16}, {"c.int", D::kI32, {1}, word.data(), 4}},
                    metadata);
  const SafetensorsFile f = SafetensorsFile::open(dir / "x.safetensors");
  ASSERT_EQ(f.tensors().size(), 4u);
  EXPECT_EQ(f.metadata(), metadata);
  EXPECT_EQ(values<double>(*f.find("a.wide")), wide);
  EXPECT_EQ(f.find("a.wide")->shape, (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(values<std::uint8_t>(*f.find("b.odd")), odd);
  EXPECT_EQ(values<std::int32_t>(*f.find("c.int")), word);
  EXPECT_EQ(values<std::uint16_t>(*f.find("d.half")), half);
  const std::uint8_t* section = f.tensors().front().data;  // the widest tensor sits at offset 0
  EXPECT_EQ(f.tensors().front().name, "a.wide");
  for (const auto& t : f.tensors()) {
    EXPECT_EQ(static_cast<std::size_t>(t.data - section) % safetensors_dtype_size(t.dtype), 0u) << t.name;
  }
  const std::size_t file_size = read_bytes(dir / "x.safetensors").size();
  EXPECT_EQ((file_size - 8 - 25) % 8, 0u);  // the header is padded to a multiple of 8
}

TEST(Safetensors, WriterRejectsInconsistentTensors) {
  TempDir dir;
  const std::vector<float> v{1, 2, 3};
  const std::string path = dir / "bad.safetensors";
  auto error = [&](const std::vector<TensorToWrite>& tensors) {
    try {
      safetensors_write(path, tensors);
    } catch (const ModelError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  using D = SafetensorsDtype;
  EXPECT_EQ(error({{"w", D::kF32, {2, 2}, v.data(), 12}}).rfind(path + ": tensor 'w': n_bytes 12 does not match", 0),
            0u);
  EXPECT_EQ(error({{"w", D::kF32, {3}, v.data(), 12}, {"w", D::kI32, {3}, v.data(), 12}})
                .rfind(path + ": tensor 'w': given twice", 0),
            0u);
  // (-1) * (-3) * 4 == 12: a product check alone would accept this shape.
  EXPECT_EQ(error({{"w", D::kF32, {-1, -3}, v.data(), 12}}).rfind(path + ": tensor 'w': n_bytes 12", 0), 0u);
  EXPECT_EQ(error({{"__metadata__", D::kF32, {3}, v.data(), 12}}).rfind(path + ": tensor '__metadata__'", 0), 0u);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(Safetensors, RejectsFileShorterThanEightBytes) {
  TempDir dir;
  write_bytes(dir / "short.safetensors", {2, 0, 0, 0, 0});
  expect_rejected(dir / "short.safetensors", {"5 bytes", "shorter than the 8-byte header length"});
}

TEST(Safetensors, RejectsHeaderLengthPastEndOfFile) {
  TempDir dir;
  expect_rejected(hostile_file(dir, "{}", 0, 1000), {"header length 1000 runs past the end of the 10-byte file"});
}

TEST(Safetensors, RejectsHeaderLongerThan100MB) {
  TempDir dir;
  expect_rejected(hostile_file(dir, "{}", 0, 100'000'001),
                  {"header length 100000001 exceeds the 100000000-byte limit"});
  expect_rejected(hostile_file(dir, "{}", 0, UINT64_MAX - 1), {"exceeds the 100000000-byte limit"});
}

TEST(Safetensors, RejectsHeaderThatIsNotJson) {
  TempDir dir;
  expect_rejected(hostile_file(dir, R"({"w": {"dtype": "F32",)"), {"header is not valid JSON"});
  expect_rejected(hostile_file(dir, "{\"\xff\": 1}"), {"header is not valid JSON"});  // not UTF-8
}

TEST(Safetensors, RejectsHeaderThatIsNotAnObject) {
  TempDir dir;
  expect_rejected(hostile_file(dir, "[1, 2]  "), {"header is a JSON array, not an object"});
}

TEST(Safetensors, RejectsUnknownDtypeNamingTheTensor) {
  TempDir dir;
  expect_rejected(hostile_file(dir, "{\"layer.w\":" + entry("Q4_K", "[2]", "[0,1]") + "}", 8),
                  {"tensor 'layer.w'", "unknown dtype \"Q4_K\""});
}

TEST(Safetensors, RejectsShapeThatDisagreesWithByteRange) {
  TempDir dir;
  expect_rejected(hostile_file(dir, "{\"w\":" + entry("F32", "[2,3]", "[0,20]") + "}", 24),
                  {"tensor 'w'", "needs 24 bytes but data_offsets [0,20] span 20"});
}

TEST(Safetensors, RejectsTruncatedFile) {
  TempDir dir;
  Bytes b = read_bytes(reference_path("reference.safetensors"));
  b.resize(b.size() - 3);
  write_bytes(dir / "cut.safetensors", b);
  expect_rejected(dir / "cut.safetensors",
                  {"tensor 'a.bool'", "data_offsets [118,123] run past the end of the 120-byte data section"});
}

TEST(Safetensors, RejectsOverlappingRangesNamingBoth) {
  TempDir dir;
  const std::string header = "{\"first\":" + entry("F32", "[4]", "[0,16]") +
                             ",\"second\":" + entry("I16", "[4]", "[12,20]") +
                             ",\"nothing\":" + entry("F32", "[0]", "[4,4]") + "}";
  expect_rejected(hostile_file(dir, header, 24), {"tensors 'first' and 'second' overlap in the data section"});
}

TEST(Safetensors, AcceptsZeroByteTensorInsideAnotherRange) {
  TempDir dir;
  const std::string header =
      "{\"w\":" + entry("F32", "[4]", "[0,16]") + ",\"e\":" + entry("F32", "[0,7]", "[4,4]") + "}";
  const SafetensorsFile f = SafetensorsFile::open(hostile_file(dir, header, 16));
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.find("e")->n_bytes, 0u);
}

TEST(Safetensors, RejectsNegativeAndNonIntegerShapeEntries) {
  TempDir dir;
  expect_rejected(hostile_file(dir, "{\"w\":" + entry("F32", "[-1,-4]", "[0,16]") + "}", 16),
                  {"tensor 'w'", "negative shape entry -1"});
  expect_rejected(hostile_file(dir, "{\"w\":" + entry("F32", "[2.0,2]", "[0,16]") + "}", 16),
                  {"tensor 'w'", "shape entry 2.0 is not an integer"});
  expect_rejected(hostile_file(dir, "{\"w\":" + entry("F32", "[\"4\"]", "[0,16]") + "}", 16),
                  {"tensor 'w'", "shape entry \"4\" is not an integer"});
  expect_rejected(hostile_file(dir, "{\"w\":" + entry("F32", "[4]", "[-16,0]") + "}", 16),
                  {"tensor 'w'", "data_offsets [-16,0] is not a pair of non-negative integers"});
}

TEST(Safetensors, RejectsShapesThatOverflow64Bits) {
  TempDir dir;
  // 2^62 * 2^62 elements wraps to 0, which would match an empty byte range if unchecked.
  const std::string two_62 = "4611686018427387904";
  expect_rejected(hostile_file(dir, "{\"w\":" + entry("F32", "[" + two_62 + "," + two_62 + "]", "[0,0]") + "}"),
                  {"tensor 'w'", "overflows a 64-bit byte count"});
  // 2^62 elements fit; 2^62 * 4 bytes does not.
  expect_rejected(hostile_file(dir, "{\"w\":" + entry("F32", "[" + two_62 + "]", "[0,0]") + "}"),
                  {"tensor 'w'", "overflows a 64-bit byte count"});
  // Zero elements, but one dimension cannot be represented in TensorView::shape.
  expect_rejected(hostile_file(dir, "{\"w\":" + entry("U8", "[0,18446744073709551615]", "[0,0]") + "}"),
                  {"tensor 'w'", "shape entry 18446744073709551615 is too large"});
}

TEST(Safetensors, RejectsDuplicateTensorNames) {
  TempDir dir;
  const std::string twice = "{\"w\":" + entry("F32", "[1]", "[0,4]") + ",\"w\":" + entry("F32", "[1]", "[4,8]") + "}";
  expect_rejected(hostile_file(dir, twice, 8), {"header has a duplicate tensor name 'w'"});
  const std::string key_twice = R"({"w":{"dtype":"F32","dtype":"I8","shape":[1],"data_offsets":[0,4]}})";
  expect_rejected(hostile_file(dir, key_twice, 4), {"header has a duplicate key 'dtype' in entry 'w'"});
}

TEST(Safetensors, RejectsMalformedEntries) {
  TempDir dir;
  expect_rejected(hostile_file(dir, R"({"w":[1,2]})"), {"tensor 'w'", "entry is a JSON array, not an object"});
  expect_rejected(hostile_file(dir, R"({"w":{"dtype":"F32","shape":[1]}})", 4),
                  {"tensor 'w'", "exactly the fields dtype, shape, data_offsets"});
  expect_rejected(hostile_file(dir, R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", 4),
                  {"tensor 'w'", "exactly the fields"});
  expect_rejected(hostile_file(dir, "{\"w\":" + entry("F32", "[0]", "[4,0]") + "}", 4),
                  {"tensor 'w'", "data_offsets [4,0] end before they begin"});
  expect_rejected(hostile_file(dir, "{\"w\":" + entry("F32", "[1]", "[0,4,8]") + "}", 8),
                  {"tensor 'w'", "data_offsets [0,4,8] is not a pair of non-negative integers"});
}

TEST(Safetensors, RejectsNonStringMetadataValue) {
  TempDir dir;
  expect_rejected(hostile_file(dir, R"({"__metadata__":{"format":"pt","epoch":3}})"),
                  {"__metadata__ entry 'epoch' is a JSON number, not a string"});
  expect_rejected(hostile_file(dir, R"({"__metadata__":["pt"]})"), {"__metadata__ is a JSON array, not an object"});
}

}  // namespace
}  // namespace fssl
