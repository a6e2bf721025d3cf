// Shared test fixtures: temporary directories and deterministic records/archives.
#pragma once

#include <sys/wait.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "fssl/archive.h"
#include "fssl/audit_plan.h"

namespace fssl::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base ? base : "/tmp") + "/fssl-test-XXXXXX";
    path_ = ::mkdtemp(pattern.data()) ? pattern : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline ModelInfo test_model(const std::string& name = "tiny-llama", std::uint32_t vocab = 512) {
  return {name, std::string(64, 'a'), vocab, "tok-tiny"};
}

// Record i of a deterministic synthetic stream (lengths and ids vary with i; every seventh, from
// i = 3, carries format-v2 logits processors and an engine tag).
inline LogRecord test_record(std::uint64_t i, std::uint32_t vocab = 512) {
  std::mt19937_64 rng(1000 + i);
  LogRecord r;
  r.message_id = 10 + 3 * i;
  r.timestamp_us = 1764115200000000 + static_cast<std::int64_t>(i) * 1000;
  r.seed = rng();
  r.sampler = {i % 3 == 0 ? "vllm-cuda:sm_count=132" : "fssl-philox", i % 5 == 0 ? 0.0f : 0.7f,
               static_cast<std::int32_t>(i % 4 == 0 ? 0 : 50), i % 2 == 0 ? 1.0f : 0.95f, 0.0f, {}};
  r.model = test_model(i % 4 == 3 ? "other-model" : "tiny-llama", vocab);
  r.server = "srv-" + std::to_string(i % 3);
  r.prompt.resize(1 + rng() % 40);
  r.output.resize(1 + rng() % 30);
  for (auto& t : r.prompt) t = static_cast<std::int32_t>(rng() % vocab);
  for (auto& t : r.output) t = static_cast<std::int32_t>(rng() % vocab);
  if (i % 7 == 3) {
    LogitsProcessors& p = r.sampler.processors;
    p.repetition_penalty = 1.1f;
    p.presence_penalty = 0.5f;
    p.frequency_penalty = -0.25f;
    p.min_tokens = static_cast<std::int32_t>(i % 5);
    p.repeat_last_n = 64;
    p.stop_token_ids = {static_cast<std::int32_t>(vocab - 1), 2};
    if (i % 2 == 1) p.allowed_token_ids = {1, 5, 7, static_cast<std::int32_t>(i % vocab)};
    p.logit_bias = {{3, -100.0f}, {static_cast<std::int32_t>(i % vocab), 2.5f}};
    if (static_cast<std::int32_t>(i % vocab) == 3) p.logit_bias.pop_back();
    p.bad_words = {{4}, {8, 9, 10}};
    r.engine = {"vllm", "0.30." + std::to_string(i % 3), "v2"};
  }
  return r;
}

inline std::vector<std::uint8_t> test_key() { return std::vector<std::uint8_t>(32, 0x5a); }

// Writes records 0..n-1 to `dir` and closes the writer.
inline void write_test_archive(const std::string& dir, std::uint64_t n, std::uint64_t shard_messages,
                               bool with_key = true) {
  WriterOptions options;
  options.shard_messages = shard_messages;
  options.flush_messages = 7;  // small, so buffered appends are exercised
  if (with_key) options.key = test_key();
  ArchiveWriter w = ArchiveWriter::open(dir, options);
  for (std::uint64_t i = 0; i < n; ++i) w.append(test_record(i));
  w.close();
}

#ifdef FSSL_BINARY
// The exit code and output of `fssl <args>` run through the shell (stderr too with merge_stderr).
struct CommandResult {
  int code = -1;
  std::string output;
};

inline CommandResult run_fssl(const std::string& args, bool merge_stderr = true) {
  CommandResult r;
  FILE* pipe = ::popen((std::string(FSSL_BINARY) + " " + args + (merge_stderr ? " 2>&1" : "")).c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) r.output += buf;
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}
#endif

// An audit plan's seed, sample size and fraction; no filters or strata.
inline PlanOptions plan_options(std::uint64_t seed, std::uint64_t sample_size, double fraction) {
  PlanOptions o;
  o.seed = seed;
  o.sample_size = sample_size;
  o.fraction = fraction;
  return o;
}

}  // namespace fssl::test
