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

// Format v2: the logits processors under vLLM's SamplingParams names, OpenAI's logit_bias form and
// llama.cpp's names; the engine is recorded with the message.
TEST(ArchiveImport, LogitsProcessorsAndTheEngineAreImported) {
  const std::string line =
      R"({"prompt_token_ids":[1,2],"output_token_ids":[4],"seed":3,)"
      R"("sampler":{"profile":"vllm-mrv2:noise=murmur3","presence_penalty":0.5,"frequency_penalty":-0.25,)"
      R"("repetition_penalty":1.1,"min_tokens":3,"stop_token_ids":[2,99],"logit_bias":{"5":-100,"7":2.5},)"
      R"("bad_words":[[4],[8,9]],"allowed_token_ids":[1,2,3],"penalty_last_n":32,"top_k":null},)"
      R"("engine":{"name":"vllm","version":"0.29.0","model_runner":"v2"}})";
  const LogRecord r = import_parse_line(line, defaults(), 0).at(0);
  const LogitsProcessors& p = r.sampler.processors;
  EXPECT_EQ(p.presence_penalty, 0.5f);
  EXPECT_EQ(p.frequency_penalty, -0.25f);
  EXPECT_EQ(p.repetition_penalty, 1.1f);
  EXPECT_EQ(p.min_tokens, 3);
  EXPECT_EQ(p.stop_token_ids, (std::vector<std::int32_t>{2, 99}));
  EXPECT_EQ(p.logit_bias, (std::vector<std::pair<std::int32_t, float>>{{5, -100.0f}, {7, 2.5f}}));
  EXPECT_EQ(p.bad_words, (std::vector<std::vector<std::int32_t>>{{4}, {8, 9}}));
  EXPECT_EQ(p.allowed_token_ids, (std::vector<std::int32_t>{1, 2, 3}));
  EXPECT_EQ(p.repeat_last_n, 32);
  EXPECT_TRUE(p.active());
  // The explicit profile wins, so vLLM 0.29 needs no gumbel_noise here; the engine is kept.
  EXPECT_EQ(r.sampler.profile, "vllm-mrv2:noise=murmur3");
  EXPECT_TRUE((r.engine == EngineTag{"vllm", "0.29.0", "v2"}));
  // llama.cpp's names, and the export form of logit_bias.
  const LogRecord l = import_parse_line(R"({"prompt_token_ids":[1],"output_token_ids":[4],"seed":3,)"
                                        R"("sampler":{"repeat_penalty":1.3,"repeat_last_n":-1,"logit_bias":[[9,1.5]]}})",
                                        defaults(), 0)
                          .at(0);
  EXPECT_EQ(l.sampler.processors.repetition_penalty, 1.3f);
  EXPECT_EQ(l.sampler.processors.repeat_last_n, -1);
  EXPECT_EQ(l.sampler.processors.logit_bias, (std::vector<std::pair<std::int32_t, float>>{{9, 1.5f}}));
  EXPECT_TRUE(l.engine.empty());
}

// Fields fssl does not understand are bad lines naming the field, never dropped.
TEST(ArchiveImport, UnknownFieldsAreRefusedByName) {
  auto refusal = [](const std::string& extra_sampler, const std::string& extra_line) {
    try {
      import_parse_line(R"({"prompt_token_ids":[1],"output_token_ids":[4],"seed":3,"sampler":{"temperature":1)" +
                            extra_sampler + "}" + extra_line + "}",
                        defaults(), 0);
    } catch (const ImportLineError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refusal(R"(,"best_of":2)", "").find("unknown key 'sampler.best_of'"), std::string::npos);
  EXPECT_NE(refusal("", R"(,"request_id":"abc")").find("unknown key 'request_id'"), std::string::npos);
  EXPECT_NE(refusal(R"(,"bad_words":["foo"])", "").find("fssl has no tokenizer"), std::string::npos);
  EXPECT_NE(refusal(R"(,"logit_bias":{"x":1})", "").find("'x' is not a token id"), std::string::npos);
  EXPECT_NE(refusal(R"(,"min_tokens":"3")", "").find("'sampler.min_tokens' must be a 32-bit integer"),
            std::string::npos);
  EXPECT_EQ(refusal("", ""), "accepted");
  // Values out of the archive's ranges are invalid records, named like the v1 fields.
  test::TempDir dir;
  std::istringstream in(
      R"({"prompt_token_ids":[1],"output_token_ids":[4],"seed":3,"sampler":{"allowed_token_ids":[100]}})" "\n"
      R"({"prompt_token_ids":[1],"output_token_ids":[4],"seed":3,"sampler":{"repetition_penalty":0}})" "\n");
  ArchiveWriter writer = ArchiveWriter::open(dir.path(), WriterOptions{});
  ImportStats stats = archive_import_jsonl(in, "in.jsonl", writer, defaults());
  writer.close();
  EXPECT_EQ(stats.bad_by_reason["invalid record"], 2u);
  ASSERT_EQ(stats.problems.size(), 2u);
  EXPECT_NE(stats.problems[0].find("allowed_token_ids holds id 100 outside [0, vocab size 100)"), std::string::npos);
  EXPECT_NE(stats.problems[1].find("repetition_penalty 0 is not > 0"), std::string::npos);
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
