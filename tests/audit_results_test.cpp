// results.h5 (report/results_h5.h): every value written by write_results_h5 reads back, with its type,
// through h5py alone (tests/interop/read_audit_results.py, independent of fssl's HDF5 code),
// including the NaN / -1 padding between the Gumbel-max and inverse-CDF widths.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "report/results_h5.h"
#include "fssl/error.h"
#include "test_util.h"

namespace fssl {
namespace {

using nlohmann::json;
constexpr float kInf = std::numeric_limits<float>::infinity();
const char* const kReader = FSSL_SOURCE_DIR "/tests/interop/read_audit_results.py";

// S = max(3, 4) = 4 likelihood columns (Gumbel rows padded), G = max(6, 4) = 6 admissible
// columns (inverse-CDF rows padded): padding is exercised in both directions.
ResultsFileInfo test_info() {
  ResultsFileInfo info;
  info.archive_dir = "/data/archive";
  info.archive_digest = std::string(64, 'c');
  info.model_dir = "/models/tiny-llama";
  info.model_fingerprint = std::string(64, 'a');
  info.config_json = R"({"sample_size":5,"tp_size":2})";
  info.audit_seed = 0xFEDCBA9876543210ULL;  // >= 2^63: must not pass through int64
  info.sigmas = {0.01, 0.1, 1.0};
  info.margin_grid = {0.0, 0.1, 0.5, 1.0, 2.0, 5.0};
  info.ipt_sigmas = {0.001, 0.01, 0.1, 0.2};
  info.ipt_distance_grid = {0.0, 0.001, 0.01, 0.05};
  return info;
}

MessageResult message(std::uint32_t shard, std::uint64_t row, std::uint64_t id, MessageStatus status) {
  MessageResult r;
  r.ref = {shard, row};
  r.message_id = id;
  r.status = status;
  return r;
}

// Plan order: Gumbel (3 tokens), unverifiable, inverse-CDF (2 tokens), quarantined, Gumbel (1).
std::vector<MessageResult> test_results() {
  std::vector<MessageResult> out;
  MessageResult a = message(0, 5, 10, MessageStatus::kScored);
  a.timestamp_us = 1764115200000000;
  a.server = "srv-a", a.model = "tiny-llama", a.profile = "vllm-cuda:sm_count=132";
  a.prompt_tokens = 17;
  a.tokens = {{1, 0, 0}, {0, 1, 2}, {0.0f, 0.75f, 3.5f},
              {-0.6931f, -0.7f, -0.69f, -12.5f, -3.1f, -0.9f, -1e6f, -40.25f, -1.5f},
              {0, 3, 40}, {0, 1, -1},
              {1, 1, 1, 1, 2, 5, 1, 2, 3, 4, 6, 9, 1, 1, 2, 3, 5, 8},
              {0.0, 5.044394119358453, 17.0}};
  out.push_back(a);
  MessageResult b = message(0, 9, 13, MessageStatus::kUnverifiable);
  b.server = "srv-b", b.model = "tiny-llama", b.profile = "mystery";
  b.reason = "sampler profile 'mystery' is unknown";
  b.prompt_tokens = 5;
  b.tokens.exact = {1};  // inconsistent on purpose: an unscored message's tokens are ignored
  out.push_back(b);
  MessageResult c = message(1, 0, 0xFFFFFFFFFFFFFFFEULL, MessageStatus::kScored);
  c.timestamp_us = -5;
  c.server = "gpu-node-17.eu-west/\xc3\xbc", c.model = "llama-3.1-8b-instruct", c.profile = "llamacpp-dist";
  c.inverse_cdf = true;
  c.prompt_tokens = 300;
  c.tokens = {{1, 0}, {0, 2}, {0.0f, kInf},
              {-1e-12f, -2.5e-5f, -0.125f, -0.3f, -kInf, -kInf, -27.6f, -27.0f},
              {0, 1000}, {-1, -1},
              {1, 1, 2, 3, 0, 0, 0, 0},
              {1.0, 17.0}};
  out.push_back(c);
  MessageResult d = message(2, 0, 0, MessageStatus::kQuarantined);
  d.reason = "shard-000002.h5: sha256 mismatch";
  out.push_back(d);
  MessageResult e = message(3, 1, 99, MessageStatus::kScored);
  e.timestamp_us = 1764115200123456;
  e.server = "srv-a", e.model = "tiny-llama", e.profile = "fssl-philox";
  e.prompt_tokens = 1;
  e.tokens = {{1}, {0}, {0.0f}, {-0.5f, -0.6f, -0.69f}, {0}, {0}, {1, 1, 1, 1, 1, 1}, {0.0}};
  out.push_back(e);
  return out;
}

// A float as the reader prints it (strict JSON has no NaN or infinities).
json jfloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}
template <typename T>
json jfloats(const std::vector<T>& values) {
  json out = json::array();
  for (T v : values) out.push_back(jfloat(static_cast<double>(v)));
  return out;
}
// Row-major [n, width] values as nested rows.
json jrows(const json& flat, std::size_t width) {
  json out = json::array();
  for (std::size_t i = 0; i * width < flat.size(); ++i) {
    out.push_back(json(flat.begin() + static_cast<std::ptrdiff_t>(i * width),
                       flat.begin() + static_cast<std::ptrdiff_t>((i + 1) * width)));
  }
  return out;
}

class AuditResults : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("/usr/bin/python3 -c 'import h5py' 2>/dev/null") != 0) {
      GTEST_SKIP() << "/usr/bin/python3 with h5py is needed to read results.h5 independently";
    }
  }

  static json read_with_h5py(const std::string& file) {
    const std::string command = std::string("/usr/bin/python3 '") + kReader + "' '" + file + "'";
    FILE* pipe = ::popen(command.c_str(), "r");
    EXPECT_NE(pipe, nullptr) << command;
    if (pipe == nullptr) return json();
    std::string text;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
    EXPECT_EQ(::pclose(pipe), 0) << command;
    return json::parse(text);
  }
};

TEST_F(AuditResults, EveryValueRoundTripsThroughH5py) {
  test::TempDir dir;
  const std::string path = dir / "results.h5";
  std::ofstream(path) << "a previous, unrelated file";  // replaced whole by the rename
  const ResultsFileInfo info = test_info();
  const std::vector<MessageResult> results = test_results();
  const std::vector<std::string> reasons = {"1 dangerous token", "", "token not a candidate", "", ""};
  write_results_h5(path, results, reasons, info);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const json j = read_with_h5py(path);

  const json& attrs = j.at("attrs");
  const auto expect_attr = [&](const char* name, const char* dtype, const json& value) {
    EXPECT_EQ(attrs.at(name).at("dtype"), dtype) << name;
    EXPECT_EQ(attrs.at(name).at("value"), value) << name;
  };
  expect_attr("format", "string:utf-8:vlen", "fssl-audit-results");
  expect_attr("version", "<i4", 1);
  expect_attr("archive_dir", "string:utf-8:vlen", info.archive_dir);
  expect_attr("archive_digest", "string:utf-8:vlen", info.archive_digest);
  expect_attr("model_dir", "string:utf-8:vlen", info.model_dir);
  expect_attr("model_fingerprint", "string:utf-8:vlen", info.model_fingerprint);
  expect_attr("config_json", "string:utf-8:vlen", info.config_json);
  expect_attr("audit_seed", "<u8", info.audit_seed);
  expect_attr("sigmas", "<f8", info.sigmas);
  expect_attr("margin_grid", "<f8", info.margin_grid);
  expect_attr("ipt_sigmas", "<f8", info.ipt_sigmas);
  expect_attr("ipt_distance_grid", "<f8", info.ipt_distance_grid);
  EXPECT_EQ(attrs.size(), 12u);

  const json& ds = j.at("datasets");
  const auto expect_ds = [&](const std::string& name, const char* dtype, const json& shape, const json& value) {
    SCOPED_TRACE(name);
    const json& d = ds.at(name);
    EXPECT_EQ(d.at("dtype"), dtype);
    EXPECT_EQ(d.at("shape"), shape);
    EXPECT_EQ(d.at("value"), value);
    // Numeric columns are compressed like the archive; vlen strings cannot usefully be.
    EXPECT_EQ(d.at("compression"), std::string(dtype).rfind("string", 0) == 0 ? json() : json("gzip"));
  };
  const json m5 = json::array({5});
  expect_ds("messages/shard", "<u4", m5, {0, 0, 1, 2, 3});
  expect_ds("messages/row", "<u8", m5, {5, 9, 0, 0, 1});
  expect_ds("messages/message_id", "<u8", m5, {10ULL, 13ULL, 0xFFFFFFFFFFFFFFFEULL, 0ULL, 99ULL});
  expect_ds("messages/timestamp_us", "<i8", m5, {1764115200000000LL, 0, -5, 0, 1764115200123456LL});
  expect_ds("messages/status", "|u1", m5, {0, 1, 0, 2, 0});
  expect_ds("messages/inverse_cdf", "|u1", m5, {0, 0, 1, 0, 0});
  expect_ds("messages/flagged", "|u1", m5, {1, 0, 1, 0, 0});
  expect_ds("messages/prompt_tokens", "<u8", m5, {17, 5, 300, 0, 1});
  expect_ds("messages/output_tokens", "<u8", m5, {3, 0, 2, 0, 1});
  expect_ds("messages/token_offset", "<u8", m5, {0, 3, 3, 5, 5});
  expect_ds("messages/server", "string:utf-8:vlen", m5,
            {"srv-a", "srv-b", "gpu-node-17.eu-west/\xc3\xbc", "", "srv-a"});
  expect_ds("messages/model", "string:utf-8:vlen", m5,
            {"tiny-llama", "tiny-llama", "llama-3.1-8b-instruct", "", "tiny-llama"});
  expect_ds("messages/profile", "string:utf-8:vlen", m5,
            {"vllm-cuda:sm_count=132", "mystery", "llamacpp-dist", "", "fssl-philox"});
  expect_ds("messages/reason", "string:utf-8:vlen", m5,
            {"", results[1].reason, "", results[3].reason, ""});
  expect_ds("messages/flag_reason", "string:utf-8:vlen", m5, reasons);
  // The message evidence (docs/audit.md "Alarms"): the sum of each scored message's finite,
  // positive margins; NaN for B (unverifiable) and D (quarantined).
  const auto evidence = [](const MessageResult& r) {
    double sum = 0.0;
    for (float m : r.tokens.margin) sum += std::isfinite(m) && m > 0 ? static_cast<double>(m) : 0.0;
    return jfloat(sum);
  };
  expect_ds("messages/evidence", "<f8", m5,
            {evidence(results[0]), "NaN", evidence(results[2]), "NaN", evidence(results[4])});

  // Tokens: rows of A (Gumbel), C (inverse-CDF), E (Gumbel); B and D contribute none.
  const MessageResult &a = results[0], &c = results[2], &e = results[4];
  const auto cat = [&](auto field) {
    auto out = field(a.tokens);
    for (const MessageResult* r : {&c, &e}) out.insert(out.end(), field(r->tokens).begin(), field(r->tokens).end());
    return out;
  };
  const json t6 = json::array({6});
  expect_ds("tokens/exact", "|u1", t6, cat([](const TokenScores& t) -> auto& { return t.exact; }));
  expect_ds("tokens/tier", "|u1", t6, cat([](const TokenScores& t) -> auto& { return t.tier; }));
  expect_ds("tokens/margin", "<f4", t6, jfloats(cat([](const TokenScores& t) -> auto& { return t.margin; })));
  expect_ds("tokens/logit_rank", "<i8", t6, cat([](const TokenScores& t) -> auto& { return t.logit_rank; }));
  expect_ds("tokens/gumbel_rank", "<i8", t6, cat([](const TokenScores& t) -> auto& { return t.gumbel_rank; }));
  expect_ds("tokens/bits", "<f8", t6, jfloats(cat([](const TokenScores& t) -> auto& { return t.bits; })));
  const json nan = "NaN";
  const auto f = [](float v) { return jfloat(static_cast<double>(v)); };
  const json likelihood = {
      {f(-0.6931f), f(-0.7f), f(-0.69f), nan}, {f(-12.5f), f(-3.1f), f(-0.9f), nan},
      {f(-1e6f), f(-40.25f), f(-1.5f), nan},   {f(-1e-12f), f(-2.5e-5f), f(-0.125f), f(-0.3f)},
      {"-Infinity", "-Infinity", f(-27.6f), f(-27.0f)}, {f(-0.5f), f(-0.6f), f(-0.69f), nan}};
  expect_ds("tokens/likelihood", "<f4", json::array({6, 4}), likelihood);
  const json admissible = {{1, 1, 1, 1, 2, 5},   {1, 2, 3, 4, 6, 9},    {1, 1, 2, 3, 5, 8},
                           {1, 1, 2, 3, -1, -1}, {0, 0, 0, 0, -1, -1}, {1, 1, 1, 1, 1, 1}};
  expect_ds("tokens/admissible", "<i8", json::array({6, 6}), admissible);
  EXPECT_EQ(ds.size(), 16u + 8u);

  // The format document's recipe gives each message's own, unpadded rows back.
  const json& per = j.at("per_message");
  ASSERT_EQ(per.size(), results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    SCOPED_TRACE(i);
    const MessageResult& r = results[i];
    const bool scored = r.status == MessageStatus::kScored;
    const std::size_t ws = r.inverse_cdf ? info.ipt_sigmas.size() : info.sigmas.size();
    const std::size_t wg = r.inverse_cdf ? info.ipt_distance_grid.size() : info.margin_grid.size();
    EXPECT_EQ(per[i].at("message_id"), r.message_id);
    EXPECT_EQ(per[i].at("margin"), scored ? jfloats(r.tokens.margin) : json::array());
    EXPECT_EQ(per[i].at("likelihood"), scored ? jrows(jfloats(r.tokens.likelihood), ws) : json::array());
    EXPECT_EQ(per[i].at("admissible"), scored ? jrows(json(r.tokens.admissible), wg) : json::array());
  }
}

TEST_F(AuditResults, NoMessagesGiveEmptyDatasets) {
  test::TempDir dir;
  const std::string path = dir / "results.h5";
  write_results_h5(path, {}, {}, test_info());
  const json j = read_with_h5py(path);
  EXPECT_EQ(j.at("attrs").at("format").at("value"), "fssl-audit-results");
  EXPECT_EQ(j.at("datasets").size(), 24u);
  for (const auto& [name, d] : j.at("datasets").items()) {
    SCOPED_TRACE(name);
    json expected_shape = json::array({0});
    if (name == "tokens/likelihood") expected_shape = json::array({0, 4});
    if (name == "tokens/admissible") expected_shape = json::array({0, 6});
    EXPECT_EQ(d.at("shape"), expected_shape);
    EXPECT_EQ(d.at("value"), json::array());
  }
  EXPECT_EQ(j.at("per_message"), json::array());

  // Messages but no scored token: T = 0 with M > 0.
  std::vector<MessageResult> unscored = {message(0, 1, 7, MessageStatus::kQuarantined)};
  write_results_h5(path, unscored, {""}, test_info());
  const json k = read_with_h5py(path);
  EXPECT_EQ(k.at("datasets").at("messages/status").at("value"), json::array({2}));
  EXPECT_EQ(k.at("datasets").at("tokens/likelihood").at("shape"), json::array({0, 4}));
}

// Runs `write` expecting an ArchiveError whose text holds every `needles`; nothing is left behind.
template <typename Write>
void expect_write_error(const std::string& path, Write write, const std::vector<std::string>& needles) {
  try {
    write();
    ADD_FAILURE() << "no exception";
  } catch (const ArchiveError& e) {
    for (const std::string& needle : needles) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << needle << " not in: " << e.what();
    }
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(AuditResultsErrors, WidthMismatchThrowsNamingTheMessage) {
  test::TempDir dir;
  const std::string path = dir / "results.h5";
  const ResultsFileInfo info = test_info();
  std::vector<MessageResult> results = test_results();
  const std::vector<std::string> reasons(results.size());
  // The inverse-CDF message with Gumbel-width likelihood rows (3 per token, not 4).
  results[2].tokens.likelihood.resize(2 * info.sigmas.size());
  expect_write_error(path, [&] { write_results_h5(path, results, reasons, info); },
                     {path, "message 18446744073709551614", "inverse-CDF", "likelihood", "expected 4"});
  // The Gumbel message with inverse-CDF-width admissible rows.
  results = test_results();
  results[4].tokens.admissible.resize(info.ipt_distance_grid.size());
  expect_write_error(path, [&] { write_results_h5(path, results, reasons, info); },
                     {"message 99", "Gumbel-max", "admissible", "expected 6"});
  results = test_results();
  results[0].tokens.bits.pop_back();
  expect_write_error(path, [&] { write_results_h5(path, results, reasons, info); }, {"message 10"});
  expect_write_error(path, [&] { write_results_h5(path, test_results(), {""}, info); }, {path, "1 flag reasons"});
}

TEST(AuditResultsErrors, UnwritableDirectoryThrowsNamingTheFile) {
  test::TempDir dir;
  const std::string path = dir / "missing-dir/results.h5";
  expect_write_error(path, [&] { write_results_h5(path, {}, {}, test_info()); }, {path});
}

}  // namespace
}  // namespace fssl
