// JSONL import: both layouts, timestamps, and bad lines (skipped, counted by reason, named by
// line number) while every good line is kept.
#include <gtest/gtest.h>

#include <sstream>

#include "fssl/archive_import.h"
#include "test_util.h"

namespace fssl {
namespace {

ImportDefaults defaults() {
  ImportDefaults d;
  d.vocab_size = 100;
  d.model_fingerprint = std::string(64, 'f');
  d.tokenizer = "tok";
  d.timestamp_us = 5;
  return d;
}

TEST(ArchiveImport, FsslLayoutLineFillsEveryField) {
  const std::string line =
      R"({"prompt_token_ids":[1,2,3],"output_token_ids":[4,99],"seed":18446744073709551615,)"
      R"("sampler":{"profile":"vllm-cuda:sm_count=132","temperature":0.5,"top_k":-1,"top_p":0.9,"min_p":0.05},)"
      R"("model":"m1","server":"s1","timestamp":1764115200.25,"message_id":7})";
  std::vector<LogRecord> records = import_parse_line(line, defaults(), 0);
  ASSERT_EQ(records.size(), 1u);
  const LogRecord& r = records[0];
  EXPECT_EQ(r.message_id, 7u);
  EXPECT_EQ(r.seed, 18446744073709551615ull);
  EXPECT_EQ(r.timestamp_us, 1764115200250000);
  EXPECT_EQ(r.sampler.profile, "vllm-cuda:sm_count=132");
  EXPECT_EQ(r.sampler.temperature, 0.5f);
  EXPECT_EQ(r.sampler.top_k, 0);  // vLLM's -1 = disabled
  EXPECT_EQ(r.sampler.top_p, 0.9f);
  EXPECT_EQ(r.sampler.min_p, 0.05f);
  EXPECT_EQ(r.model.name, "m1");
  EXPECT_EQ(r.model.vocab_size, 100u);
  EXPECT_EQ(r.server, "s1");
  EXPECT_EQ(r.prompt, (std::vector<std::int32_t>{1, 2, 3}));
  EXPECT_EQ(r.output, (std::vector<std::int32_t>{4, 99}));
}

TEST(ArchiveImport, TokenDifrLayoutGivesOneMessagePerOutputWithChildSeeds) {
  ImportDefaults d = defaults();
  d.seed = 40;
  d.sampler.top_k = 50;
  const std::string line = R"({"prompt_token_ids":[5,6],"outputs":[{"token_ids":[1]},{"token_ids":[2,3]},{"token_ids":[4]}]})";
  std::vector<LogRecord> records = import_parse_line(line, d, 11);
  ASSERT_EQ(records.size(), 3u);
  for (std::size_t j = 0; j < 3; ++j) {
    EXPECT_EQ(records[j].message_id, 11 + j);
    EXPECT_EQ(records[j].seed, 40 + j);  // vLLM n > 1: child j is seeded seed + j
    EXPECT_EQ(records[j].prompt, (std::vector<std::int32_t>{5, 6}));
    EXPECT_EQ(records[j].sampler.top_k, 50);
  }
  EXPECT_EQ(records[1].output, (std::vector<std::int32_t>{2, 3}));
}

TEST(ArchiveImport, Rfc3339TimestampsMatchGnuDate) {
  // Reference values from `date -u -d '2025-11-26T00:00:00Z' +%s` = 1764115200.
  std::int64_t us = 0;
  ASSERT_TRUE(parse_rfc3339_us("2025-11-26T00:00:00.250Z", &us));
  EXPECT_EQ(us, 1764115200250000);
  ASSERT_TRUE(parse_rfc3339_us("2025-11-26T01:30:00+01:30", &us));
  EXPECT_EQ(us, 1764115200000000);
  ASSERT_TRUE(parse_rfc3339_us("1970-01-01T00:00:00.000001Z", &us));
  EXPECT_EQ(us, 1);
  EXPECT_FALSE(parse_rfc3339_us("2025-11-26 00:00:00", &us));
  EXPECT_FALSE(parse_rfc3339_us("2025-13-26T00:00:00Z", &us));
  EXPECT_FALSE(parse_rfc3339_us("2025-11-26T00:00:00.Z", &us));
}

TEST(ArchiveImport, BadLinesAreSkippedCountedAndNamedGoodLinesKept) {
  test::TempDir dir;
  std::istringstream in(
      R"({"prompt_token_ids":[1],"output_token_ids":[2],"seed":1})" "\n"
      R"({"prompt_token_ids":[1],"output_token_ids":[2],"seed":)" "\n"            // 2: malformed JSON
      R"({"prompt_token_ids":[1],"output_token_ids":[2]})" "\n"                   // 3: missing seed
      R"({"prompt_token_ids":"1 2","output_token_ids":[2],"seed":3})" "\n"        // 4: wrong type
      "\n"
      R"({"prompt_token_ids":[1],"output_token_ids":[100],"seed":4})" "\n"        // 6: token id >= V
      R"({"prompt_token_ids":[1],"output_token_ids":[2],"seed":-5})" "\n"         // 7: negative seed
      R"({"prompt_token_ids":[3],"output_token_ids":[4],"seed":6,"message_id":50})" "\n"
      R"({"prompt_token_ids":[3],"output_token_ids":[4],"seed":7,"message_id":50})" "\n"  // 9: id not increasing
      R"({"prompt_token_ids":[1],"output_token_ids":[2],"seed":8,"sampler":{"top_p":2}})" "\n"  // 10: top_p
      R"([1,2,3])" "\n"                                                                    // 11: not an object
      R"({"prompt_token_ids":[7,8],"output_token_ids":[9],"seed":9})" "\n");
  ArchiveWriter writer = ArchiveWriter::open(dir.path(), WriterOptions{});
  ImportStats stats = archive_import_jsonl(in, "input.jsonl", writer, defaults());
  writer.close();
  EXPECT_EQ(stats.n_lines, 11u);
  EXPECT_EQ(stats.n_messages, 3u);
  EXPECT_EQ(stats.n_bad_lines, 8u);
  EXPECT_EQ(stats.bad_by_reason["malformed JSON"], 2u);
  EXPECT_EQ(stats.bad_by_reason["missing field"], 1u);
  EXPECT_EQ(stats.bad_by_reason["wrong type"], 2u);
  EXPECT_EQ(stats.bad_by_reason["invalid record"], 3u);
  auto listed = [&](const std::string& prefix, const std::string& fragment) {
    for (const std::string& p : stats.problems) {
      if (p.rfind(prefix, 0) == 0 && p.find(fragment) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(listed("input.jsonl:2:", "malformed JSON"));
  EXPECT_TRUE(listed("input.jsonl:3:", "missing field: 'seed'"));
  EXPECT_TRUE(listed("input.jsonl:4:", "'prompt_token_ids' must be an array"));
  EXPECT_TRUE(listed("input.jsonl:6:", "output token 0 has id 100 outside [0, vocab size 100)"));
  EXPECT_TRUE(listed("input.jsonl:7:", "'seed' is negative"));
  EXPECT_TRUE(listed("input.jsonl:9:", "message id 50 is not greater than the previous id 50"));
  EXPECT_TRUE(listed("input.jsonl:10:", "top_p 2 outside (0, 1]"));
  EXPECT_TRUE(listed("input.jsonl:11:", "one JSON object"));
  ArchiveReader reader = ArchiveReader::open(dir.path());
  ASSERT_EQ(reader.manifest().n_messages(), 3u);
  EXPECT_EQ(reader.read({0, 0}).seed, 1u);
  EXPECT_EQ(reader.read({0, 1}).message_id, 50u);
  EXPECT_EQ(reader.read({0, 2}).message_id, 51u);
  EXPECT_EQ(reader.read({0, 2}).prompt, (std::vector<std::int32_t>{7, 8}));
}

}  // namespace
}  // namespace fssl
