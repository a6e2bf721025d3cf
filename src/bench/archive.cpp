// `fssl bench archive`: layout choices of the log archive measured side by side (bench.h).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include "fssl/archive.h"
#include "fssl/bench.h"

namespace fssl {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Demo-set lengths (hpc-and-anchors.md A26: ~227 prompt, ~185 output tokens on average) and
// uniform token ids: a worst case for compression, real text (Zipf-distributed ids) packs tighter.
LogRecord synthetic_record(std::mt19937_64& rng, std::uint64_t id, std::uint32_t vocab) {
  std::lognormal_distribution<double> prompt_len(5.2, 0.6), output_len(5.0, 0.6);
  LogRecord r;
  r.message_id = id;
  r.timestamp_us = 1764115200000000 + static_cast<std::int64_t>(id) * 4000;
  r.seed = rng();
  r.sampler = {"vllm-cuda:sm_count=132", 1.0f, 50, 0.95f, 0.0f, {}};
  r.model = {"bench-model", std::string(64, '0'), vocab, "bench-tokenizer"};
  r.server = "srv-" + std::to_string(id % 8);
  r.prompt.resize(static_cast<std::size_t>(std::clamp(prompt_len(rng), 1.0, 4096.0)));
  r.output.resize(static_cast<std::size_t>(std::clamp(output_len(rng), 1.0, 2048.0)));
  for (auto& t : r.prompt) t = static_cast<std::int32_t>(rng() % vocab);
  for (auto& t : r.output) t = static_cast<std::int32_t>(rng() % vocab);
  return r;
}

struct LayoutResult {
  std::uint64_t chunk = 0, bytes = 0, tokens = 0;
  double write_s = 0, single_ms = 0, batch_ms = 0, validate_s = 0;
};

LayoutResult bench_layout(const ArchiveBenchOptions& o, std::uint64_t chunk, const std::string& dir) {
  LayoutResult res;
  res.chunk = chunk;
  WriterOptions w;
  w.tokens_chunk = chunk;
  w.shard_messages = o.n_messages;  // one shard: reads hit one file, as a leader's batch does
  w.key = std::vector<std::uint8_t>(32, 7);
  std::mt19937_64 rng(o.seed);
  auto start = Clock::now();
  {
    ArchiveWriter writer = ArchiveWriter::open(dir, w);
    for (std::uint64_t i = 0; i < o.n_messages; ++i) writer.append(synthetic_record(rng, i, o.vocab_size));
    writer.close();
  }
  res.write_s = seconds_since(start);
  const Manifest m = Manifest::read(dir);
  res.bytes = m.shards[0].bytes;
  res.tokens = m.n_tokens();
  std::mt19937_64 pick(o.seed + 1);
  std::vector<MessageRef> refs(o.n_reads);
  for (auto& ref : refs) ref = {0, pick() % o.n_messages};
  {
    ArchiveReader reader = ArchiveReader::open(dir);
    reader.shard(0);  // open + column load outside the timed loop: a leader opens a shard once
    start = Clock::now();
    for (const MessageRef& ref : refs) reader.read(ref);
    res.single_ms = 1e3 * seconds_since(start) / static_cast<double>(o.n_reads);
  }
  {
    ArchiveReader reader = ArchiveReader::open(dir);
    reader.shard(0);
    start = Clock::now();
    for (std::size_t i = 0; i < refs.size(); i += o.batch_size) {
      std::vector<MessageRef> batch(refs.begin() + static_cast<std::ptrdiff_t>(i),
                                    refs.begin() + static_cast<std::ptrdiff_t>(std::min(refs.size(), i + o.batch_size)));
      reader.read_batch(batch);
    }
    res.batch_ms = 1e3 * seconds_since(start) / static_cast<double>(o.n_reads);
  }
  start = Clock::now();
  const ValidationReport report = archive_validate(dir, &*w.key);
  res.validate_s = seconds_since(start);
  FSSL_CHECK(report.ok(), Error, "bench archive in {} does not validate", dir);
  return res;
}

double bench_manifest_read(const ArchiveBenchOptions& o, const std::string& dir) {
  Manifest m;
  const std::uint64_t per_shard = 1000000000ull / o.manifest_shards;
  for (std::uint64_t k = 0; k < o.manifest_shards; ++k) {
    ShardEntry e;
    e.file = "shard-" + std::to_string(k) + ".h5";
    e.index = static_cast<std::int64_t>(k);
    e.n_messages = per_shard;
    e.n_prompt_tokens = 227 * per_shard;
    e.n_output_tokens = 185 * per_shard;
    e.first_message_id = k * per_shard;
    e.last_message_id = (k + 1) * per_shard - 1;
    e.models = {{"llama-3.1-8b-instruct", per_shard}};
    e.servers = {{"srv-" + std::to_string(k % 64), per_shard}};
    e.sampler_profiles = {{"vllm-cuda:sm_count=132", per_shard}};
    m.shards.push_back(std::move(e));
  }
  std::filesystem::create_directories(dir);
  m.write(dir);
  const auto start = Clock::now();
  const Manifest back = Manifest::read(dir);
  const double s = seconds_since(start);
  FSSL_CHECK(back.n_messages() == o.manifest_shards * per_shard, Error, "manifest round trip lost messages");
  return s;
}

}  // namespace

void bench_archive(const ArchiveBenchOptions& o) {
  fmt::print("# fssl bench archive: {} messages, V = {}, uniform token ids, {} random reads, batch {}\n", o.n_messages,
             o.vocab_size, o.n_reads, o.batch_size);
  fmt::print("# {:>10} {:>12} {:>10} {:>12} {:>14} {:>14} {:>12}\n", "chunk", "write Mtok/s", "B/token", "file MB",
             "read ms/msg", "batch ms/msg", "validate s");
  for (std::uint64_t chunk : o.tokens_chunks) {
    const std::string dir = o.scratch_dir + "/chunk-" + std::to_string(chunk);
    const LayoutResult r = bench_layout(o, chunk, dir);
    fmt::print("  {:10} {:12.2f} {:10.3f} {:12.1f} {:14.3f} {:14.3f} {:12.2f}\n", r.chunk,
               static_cast<double>(r.tokens) / r.write_s / 1e6,
               static_cast<double>(r.bytes) / static_cast<double>(r.tokens), static_cast<double>(r.bytes) / 1e6,
               r.single_ms, r.batch_ms, r.validate_s);
    std::filesystem::remove_all(dir);
  }
  const std::string manifest_dir = o.scratch_dir + "/manifest";
  const double manifest_s = bench_manifest_read(o, manifest_dir);
  fmt::print("# manifest of 10^9 messages in {} shards: {:.1f} MB, read and parsed in {:.2f} s\n", o.manifest_shards,
             static_cast<double>(std::filesystem::file_size(manifest_dir + "/manifest.json")) / 1e6, manifest_s);
  std::filesystem::remove_all(manifest_dir);
}

}  // namespace fssl
