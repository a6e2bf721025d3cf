// The simulated inference server (simulate.h): batched KV-cache decode, the profile's noise from
// each message's seed, the server's own sampling rule, and the archive writer on rank 0.
#include "fssl/simulate.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "fssl/archive.h"
#include "fssl/digest.h"
#include "fssl/error.h"
#include "fssl/log.h"
#include "fssl/model.h"
#include "fssl/sampler_profile.h"
#include "simulate_traffic.h"

namespace fssl {
namespace {

struct Message {
  LogRecord record;
  SamplerProfile profile;
  KvCache cache;
  bool done = false;
};

void check_options(const SimulateOptions& o, const SamplerProfile& profile) {
  const SamplerParams& p = o.params;
  FSSL_CHECK(profile.gumbel_max(), ConfigError,
             "simulate: profile '{}' (an inverse-CDF sampler) is not simulated yet; use fssl-philox, vllm-cuda or "
             "hf-torch-cpu",
             o.profile);
  FSSL_CHECK(p.temperature >= 0.0f && p.top_k >= 0 && p.top_p > 0.0f && p.top_p <= 1.0f && p.min_p >= 0.0f &&
                 p.min_p <= 1.0f,
             ConfigError, "simulate: sampler parameters out of range (temperature >= 0, top-k >= 0, top-p in (0, 1], "
             "min-p in [0, 1])");
  FSSL_CHECK(o.messages > 0 && o.batch > 0 && o.max_tokens > 0 && o.prompt_max > 0 && o.n_servers > 0, ConfigError,
             "simulate: --messages, --batch, --max-tokens, --prompt-max and --servers must be > 0");
  FSSL_CHECK(o.dtype == "fp32" || o.dtype == "bf16", ConfigError, "simulate: --dtype {}: fp32 or bf16", o.dtype);
  FSSL_CHECK(o.logit_noise >= 0.0, ConfigError, "simulate: --logit-noise must be >= 0");
}

// hf-torch-cpu draws from one global generator per generate() call: the batch shares one seed and
// row b of B reads the stream at (t B + b) V, which the profile spec must record.
std::string message_spec(const SimulateOptions& o, const SamplerProfile& base, std::int64_t batch_size,
                         std::int64_t row) {
  if (base.kind != SamplerProfile::Kind::kHfTorchCpu) return o.profile;
  return "hf-torch-cpu:batch_size=" + std::to_string(batch_size) + ",batch_row=" + std::to_string(row);
}

// Gaussian logit noise for (message, step), identical on every rank for its columns.
at::Tensor logit_noise_row(const SimulateOptions& o, std::uint64_t message, std::int64_t step, std::int64_t vocab,
                           std::int64_t begin, std::int64_t valid, std::int64_t padded) {
  const std::uint64_t stream = o.seed * 0x9E3779B97F4A7C15ull ^ (message << 20) ^ static_cast<std::uint64_t>(step);
  at::Generator gen = at::detail::createCPUGenerator(stream);
  at::Tensor row = at::zeros({padded}, at::kFloat);
  row.narrow(0, 0, valid).copy_(at::empty({vocab}, at::kFloat).normal_(0.0, o.logit_noise, gen).narrow(0, begin, valid));
  return row;
}

// Samples one token for every message in `active` from its logit shard row.
std::vector<std::int64_t> sample_step(const SimulateOptions& o, Model& model, std::vector<Message>& batch,
                                      const std::vector<std::size_t>& active, at::Tensor logits,
                                      std::uint64_t first_message) {
  const std::int64_t vocab = model.config().vocab_size, begin = model.vocab_shard_begin();
  const std::int64_t valid = model.vocab_shard_valid(), padded = model.vocab_shard_size();
  std::vector<at::Tensor> noise_rows, extra;
  for (std::size_t k : active) {
    const Message& m = batch[k];
    const auto step = static_cast<std::int64_t>(m.record.output.size());
    noise_rows.push_back(profile_noise_rows(m.profile, m.record.seed, vocab, step, 1, begin, valid, padded));
    if (o.logit_noise > 0.0) extra.push_back(logit_noise_row(o, first_message + k, step, vocab, begin, valid, padded));
  }
  if (!extra.empty()) logits = logits + at::stack(extra);
  const at::Tensor noise = at::cat(noise_rows);
  const SamplerProfile& profile = batch[active.front()].profile;  // one kind per run
  const at::Tensor tokens = sample_gumbel_rows(logits, noise, o.params, begin, model.communicator(),
                                               profile.server_rule(), profile_decision_gumbel(profile, noise, o.params));
  return std::vector<std::int64_t>(tokens.data_ptr<std::int64_t>(), tokens.data_ptr<std::int64_t>() + tokens.numel());
}

// Prefill the prompts, then decode one token per active message per step until every message
// has hit a stop token or max_tokens.
void decode_batch(const SimulateOptions& o, Model& model, std::vector<Message>& batch, std::uint64_t first_message) {
  std::vector<std::int64_t> tokens;
  std::vector<Segment> segments;
  std::vector<std::int64_t> last_rows;
  for (Message& m : batch) {
    m.cache = model.kv_cache_new();
    const auto start = static_cast<std::int64_t>(tokens.size());
    tokens.insert(tokens.end(), m.record.prompt.begin(), m.record.prompt.end());
    segments.push_back({start, static_cast<std::int64_t>(m.record.prompt.size()), &m.cache});
    last_rows.push_back(static_cast<std::int64_t>(tokens.size()) - 1);
  }
  at::Tensor hidden = model.forward_hidden(at::tensor(tokens, at::kLong), segments);
  at::Tensor logits = model.logits_shard(hidden.index_select(0, at::tensor(last_rows, at::kLong)));
  std::vector<std::size_t> active(batch.size());
  for (std::size_t k = 0; k < batch.size(); ++k) active[k] = k;
  while (!active.empty()) {
    const auto sampled = sample_step(o, model, batch, active, logits, first_message);
    std::vector<std::size_t> still;
    for (std::size_t a = 0; a < active.size(); ++a) {
      Message& m = batch[active[a]];
      m.record.output.push_back(static_cast<std::int32_t>(sampled[a]));
      const bool stop = std::find(o.stop_tokens.begin(), o.stop_tokens.end(), sampled[a]) != o.stop_tokens.end();
      m.done = stop || static_cast<std::int64_t>(m.record.output.size()) >= o.max_tokens;
      if (!m.done) still.push_back(active[a]);
    }
    active = std::move(still);
    if (active.empty()) break;
    std::vector<std::int64_t> step_tokens;
    std::vector<Segment> step_segments;
    for (std::size_t k : active) {
      step_segments.push_back({static_cast<std::int64_t>(step_tokens.size()), 1, &batch[k].cache});
      step_tokens.push_back(batch[k].record.output.back());
    }
    logits = model.logits_shard(model.forward_hidden(at::tensor(step_tokens, at::kLong), step_segments));
  }
  for (Message& m : batch) m.cache = KvCache{};  // free the caches before the next batch
}

}  // namespace

SimulateSummary simulate(const SimulateOptions& o, Communicator& comm) {
  const SamplerProfile base = SamplerProfile::parse(o.profile);
  check_options(o, base);
  ModelOptions model_options;
  model_options.compute_dtype = o.dtype == "bf16" ? at::kBFloat16 : at::kFloat;
  model_options.n_threads = o.n_threads;
  Model model = Model::load(o.model_dir, comm, model_options);
  const std::int64_t vocab = model.config().vocab_size;
  TrafficSource source(o, vocab);
  const bool writer_rank = comm.rank() == 0;
  std::optional<ArchiveWriter> writer;
  ModelInfo info{o.model_name, "", static_cast<std::uint32_t>(vocab), "sim-tokenizer"};
  if (writer_rank) {
    WriterOptions w;
    w.shard_messages = o.shard_messages;
    if (!o.key_file.empty()) w.key = key_file_read(o.key_file);
    writer.emplace(ArchiveWriter::open(o.archive_dir, w));
    info.fingerprint = model_fingerprint(o.model_dir);
  }
  SimulateSummary summary;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t first = 0; first < o.messages; first += static_cast<std::uint64_t>(o.batch)) {
    const auto n = static_cast<std::int64_t>(std::min<std::uint64_t>(o.batch, o.messages - first));
    std::vector<Message> batch(static_cast<std::size_t>(n));
    std::uint64_t batch_seed = 0;
    for (std::int64_t b = 0; b < n; ++b) {
      Message& m = batch[static_cast<std::size_t>(b)];
      m.record.prompt = source.next_prompt();
      const std::uint64_t seed = source.next_seed();
      if (b == 0) batch_seed = seed;
      m.record.seed = base.kind == SamplerProfile::Kind::kHfTorchCpu ? batch_seed : seed;
      m.record.sampler = {message_spec(o, base, n, b), o.params.temperature, o.params.top_k, o.params.top_p,
                          o.params.min_p};
      m.profile = SamplerProfile::parse(m.record.sampler.profile);
      m.record.model = info;
      m.record.server = o.server_prefix + "-" + std::to_string((first + static_cast<std::uint64_t>(b)) %
                                                              static_cast<std::uint64_t>(o.n_servers));
      m.record.timestamp_us = o.start_time_us + static_cast<std::int64_t>(first + static_cast<std::uint64_t>(b)) * 1000000;
    }
    decode_batch(o, model, batch, first);
    for (Message& m : batch) {
      summary.prompt_tokens += m.record.prompt.size();
      summary.output_tokens += m.record.output.size();
      if (writer) {
        m.record.message_id = writer->next_message_id();
        writer->append(m.record);
      }
    }
    summary.messages += static_cast<std::uint64_t>(n);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (writer_rank && (summary.messages % (16 * static_cast<std::uint64_t>(o.batch)) == 0 || summary.messages == o.messages)) {
      FSSL_LOG_INFO("%llu/%llu messages, %llu output tokens, %.0f tok/s", (unsigned long long)summary.messages,
                    (unsigned long long)o.messages, (unsigned long long)summary.output_tokens,
                    static_cast<double>(summary.output_tokens) / std::max(seconds, 1e-9));
    }
  }
  if (writer) writer->close();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace fssl
