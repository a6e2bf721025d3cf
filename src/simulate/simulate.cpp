// The simulated inference server (simulate.h): batched KV-cache decode, the profile's noise from
// each message's seed, the server's own sampling rule, and the archive writer on rank 0.
#include "fssl/simulate.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "fssl/archive.h"
#include "fssl/digest.h"
#include "fssl/error.h"
#include "fssl/log.h"
#include "fssl/model.h"
#include "fssl/scoring_ipt.h"
#include "fssl/sampler_profile.h"
#include "simulate/decode.h"
#include "simulate/server.h"
#include "simulate/traffic.h"

namespace fssl {
namespace {

void check_options(const SimulateOptions& o, const SamplerProfile& profile) {
  const SamplerParams& p = o.params;
  FSSL_CHECK(profile.gumbel_max() || o.adversary != "admissible-stego", ConfigError,
             "simulate: admissible-stego chooses among Gumbel-max margins; profile '{}' samples by inverse CDF",
             o.profile);
  FSSL_CHECK(p.temperature >= 0.0f && p.top_k >= 0 && p.top_p > 0.0f && p.top_p <= 1.0f && p.min_p >= 0.0f &&
                 p.min_p <= 1.0f,
             ConfigError, "simulate: sampler parameters out of range (temperature >= 0, top-k >= 0, top-p in (0, 1], "
             "min-p in [0, 1])");
  FSSL_CHECK(o.messages > 0 && o.batch > 0 && o.max_tokens > 0 && o.prompt_max > 0 && o.n_servers > 0, ConfigError,
             "simulate: --messages, --batch, --max-tokens, --prompt-max and --servers must be > 0");
  FSSL_CHECK(o.dtype == "fp32" || o.dtype == "bf16", ConfigError, "simulate: --dtype {}: fp32 or bf16", o.dtype);
  FSSL_CHECK(o.logit_noise >= 0.0, ConfigError, "simulate: --logit-noise must be >= 0");
  FSSL_CHECK(o.adversary_fraction >= 0.0 && o.adversary_fraction <= 1.0, ConfigError,
             "simulate: --adversary-fraction must be in [0, 1]");
  FSSL_CHECK(o.stego_bits >= 1 && o.stego_bits <= 12, ConfigError, "simulate: --stego-bits must be in [1, 12]");
  FSSL_CHECK(o.stego_margin >= 0.0, ConfigError, "simulate: --stego-margin must be >= 0");
  FSSL_CHECK(o.processors == "none" || o.processors == "random", ConfigError, "simulate: --processors {}: none or random",
             o.processors);
  FSSL_CHECK(o.bug != "unlogged-processors" || o.processors == "random", ConfigError,
             "simulate: --bug unlogged-processors drops the processors of --processors random from the log");
}

// hf-torch-cpu draws from one global generator per generate() call: the batch shares one seed and
// row b of B reads the stream at (t B + b) V, which the profile spec must record.
std::string message_spec(const SimulateOptions& o, const SamplerProfile& base, std::int64_t batch_size,
                         std::int64_t row) {
  if (base.kind != SamplerProfile::Kind::kHfTorchCpu) return o.profile;
  return "hf-torch-cpu:batch_size=" + std::to_string(batch_size) + ",batch_row=" + std::to_string(row);
}

// Samples one token for every message in `active` from its logit shard row: the honest server's
// rule, bent by the run's bug mode, then overridden where an adversary embeds payload bits.
std::vector<std::int64_t> sample_step(Server& server, std::vector<Message>& batch, const std::vector<std::size_t>& active,
                                      const at::Tensor& clean, std::uint64_t first_message) {
  const SimulateOptions& o = server.o;
  Model& model = server.model;
  const VocabShard& vocab = model.vocab_shard();
  std::vector<at::Tensor> extra;
  const Message& first = batch[active.front()];  // one profile kind and parameter set per run
  const bool gumbel = first.profile.gumbel_max();
  if (o.logit_noise > 0.0) {
    for (std::size_t k : active) {
      extra.push_back(logit_noise_row(o, first_message + k, static_cast<std::int64_t>(batch[k].record.output.size()),
                                      vocab));
    }
  }
  at::Tensor logits = extra.empty() ? clean : clean + at::stack(extra);
  const at::Tensor processed = process_rows(batch, active, clean, logits, vocab);
  const at::Tensor& clean_view = processed.defined() ? processed : clean;
  SamplerParams params = first.params;
  if (server.bug == BugMode::kWrongTemperature) params.temperature *= 1.1f;
  // The noise the verifier regenerates (from the clean logits where SGLang keys it by sort rank), and
  // the server's own where it differs: another seed, or rank keys from its noisier logits.
  const bool wrong_seed = server.bug == BugMode::kWrongSeed;
  const bool server_ranks = first.params.sort_ranked && (!extra.empty() || params.temperature != first.params.temperature);
  std::vector<ProfileNoise> noise_rows, server_rows;
  for (std::size_t a = 0; gumbel && a < active.size(); ++a) {
    const Message& m = batch[active[a]];
    const auto step = static_cast<std::int64_t>(m.record.output.size());
    const auto prompt_len = static_cast<std::int64_t>(m.record.prompt.size());
    const auto row = static_cast<std::int64_t>(a);
    // Rank keys below the kept set matter only to the adversary's admissible sets (its margin).
    noise_rows.push_back(profile_noise_for_logits(m.profile, m.record.seed, prompt_len, clean_view.narrow(0, row, 1),
                                                  m.params, vocab, step, o.stego_margin, model.communicator()));
    if (wrong_seed || server_ranks) {
      server_rows.push_back(profile_noise_for_logits(m.profile, m.record.seed + (wrong_seed ? 1 : 0), prompt_len,
                                                     logits.narrow(0, row, 1), params, vocab, step, 0.0,
                                                     model.communicator()));
    }
  }
  std::vector<std::int64_t> tokens;
  ProfileNoise noise;
  if (gumbel) {
    noise = profile_noise_cat(noise_rows);
    const ProfileNoise server_noise = server_rows.empty() ? noise : profile_noise_cat(server_rows);
    const at::Tensor sampled = sample_gumbel_rows(logits, server_noise.noise, params, vocab, model.communicator(),
                                                  first.profile.server_rule(), server_noise.decision(params));
    tokens.assign(sampled.data_ptr<std::int64_t>(), sampled.data_ptr<std::int64_t>() + sampled.numel());
  } else {
    // llama.cpp's dist sampler, one row at a time from each message's own stream.
    for (std::size_t a = 0; a < active.size(); ++a) {
      Message& m = batch[active[a]];
      tokens.push_back(sample_ipt_row(
          logits[static_cast<std::int64_t>(a)], params, vocab, m.profile.single_draw != 0,
          [&] { return m.uniforms->next(); }, model.communicator()));
    }
  }
  if (server.bug == BugMode::kBuggyProcessor) buggy_processor_step(server, batch, active, logits, tokens);
  if (server.adversary != Adversary::kNone) adversary_step(server, batch, active, clean_view, noise, tokens);
  return tokens;
}

// Prefill the prompts, then decode one token per active message per step until every message
// has hit a stop token or max_tokens.
void decode_batch(Server& server, std::vector<Message>& batch, std::uint64_t first_message) {
  std::vector<const std::vector<std::int32_t>*> prompts;
  std::vector<KvCache*> caches;
  for (Message& m : batch) {
    prompts.push_back(&m.record.prompt);
    caches.push_back(&m.cache);
  }
  at::Tensor logits = decode_prefill(server.model, prompts, caches);
  std::vector<std::size_t> active(batch.size());
  for (std::size_t k = 0; k < batch.size(); ++k) active[k] = k;
  while (!active.empty()) {
    const auto sampled = sample_step(server, batch, active, logits, first_message);
    std::vector<std::size_t> still;
    for (std::size_t a = 0; a < active.size(); ++a) {
      Message& m = batch[active[a]];
      m.record.output.push_back(static_cast<std::int32_t>(sampled[a]));
      const bool stop = std::find(server.o.stop_tokens.begin(), server.o.stop_tokens.end(), sampled[a]) !=
                        server.o.stop_tokens.end();
      m.done = stop || static_cast<std::int64_t>(m.record.output.size()) >= server.o.max_tokens;
      if (!m.done) still.push_back(active[a]);
    }
    active = std::move(still);
    if (active.empty()) break;
    std::vector<std::int64_t> step_tokens;
    std::vector<KvCache*> step_caches;
    for (std::size_t k : active) {
      step_tokens.push_back(batch[k].record.output.back());
      step_caches.push_back(&batch[k].cache);
    }
    logits = decode_step(server.model, step_tokens, step_caches);
  }
  for (Message& m : batch) m.cache = KvCache{};  // free the caches before the next batch
}

// The payload: the file given, or the model's own weights (its first safetensors file, after the
// header): exactly what a weight-exfiltrating server would hide.
PayloadBits default_payload(const SimulateOptions& o) {
  if (!o.payload_file.empty()) return PayloadBits(payload_read(o.payload_file, std::size_t{1} << 24, false));
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(o.model_dir)) {
    if (entry.path().extension() == ".safetensors") files.push_back(entry.path().string());
  }
  FSSL_CHECK(!files.empty(), ConfigError, "{}: no safetensors file to take the payload from", o.model_dir);
  std::sort(files.begin(), files.end());
  return PayloadBits(payload_read(files.front(), std::size_t{1} << 24, true));
}

// One line of ground truth (simulate.h).
std::string truth_line(const Message& m, Adversary adversary, BugMode bug) {
  nlohmann::json j;
  j["message_id"] = m.record.message_id;
  j["adversary"] = m.adversarial ? adversary_name(adversary) : "none";
  j["bug"] = bug_mode_name(bug);
  j["adversarial"] = m.adversarial;
  j["payload_start"] = m.payload_start;
  j["bits"] = m.payload_next - m.payload_start;
  j["positions"] = m.positions;
  j["bits_at"] = m.bits_at;
  j["forced"] = m.forced;
  return j.dump();
}

}  // namespace

std::string simulate_truth_path(const std::string& archive_dir) {
  std::filesystem::path p = std::filesystem::path(archive_dir).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "dir/" -> "dir"
  return p.string() + ".truth.jsonl";
}

SimulateSummary simulate(const SimulateOptions& o, Communicator& comm) {
  const SamplerProfile base = SamplerProfile::parse(o.profile);
  check_options(o, base);
  const Adversary adversary = adversary_parse(o.adversary);
  const BugMode bug = bug_mode_parse(o.bug);
  ModelOptions model_options;
  model_options.compute_dtype = o.dtype == "bf16" ? at::kBFloat16 : at::kFloat;
  model_options.n_threads = o.n_threads;
  model_options.quantize_bits = bug == BugMode::kQuantized4 ? 4 : bug == BugMode::kQuantized8 ? 8 : 0;
  model_options.quantize_group = o.quantize_group;
  Model model = Model::load(o.model_dir, comm, model_options);
  const std::int64_t vocab = model.config().vocab_size;
  Server server{o, model, adversary, bug, std::nullopt, std::mt19937_64(o.seed ^ 0xB06B06B06ull)};
  if (adversary != Adversary::kNone) server.payload.emplace(default_payload(o));
  // Its receiver replays each message alone, so admissible-stego decodes them alone.
  const std::int64_t batch_size = adversary == Adversary::kAdmissibleStego ? 1 : o.batch;
  std::mt19937_64 adversary_rng(o.seed ^ 0xAD7E25A27ull);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  TrafficSource source(o, vocab);
  const bool writer_rank = comm.rank() == 0;
  std::optional<ArchiveWriter> writer;
  std::ofstream truth;
  ModelInfo info{o.model_name, "", static_cast<std::uint32_t>(vocab), "sim-tokenizer"};
  if (writer_rank) {
    WriterOptions w;
    w.shard_messages = o.shard_messages;
    if (!o.key_file.empty()) w.key = key_file_read(o.key_file);
    writer.emplace(ArchiveWriter::open(o.archive_dir, w));
    info.fingerprint = model_fingerprint(o.model_dir);  // a swapped model still logs the original
    truth.open(simulate_truth_path(o.archive_dir), std::ios::app);
    FSSL_CHECK(truth.good(), ArchiveError, "{}: cannot write the ground truth", simulate_truth_path(o.archive_dir));
  }
  SimulateSummary summary;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t first = 0; first < o.messages; first += static_cast<std::uint64_t>(batch_size)) {
    const auto n = static_cast<std::int64_t>(std::min<std::uint64_t>(batch_size, o.messages - first));
    std::vector<Message> batch(static_cast<std::size_t>(n));
    std::uint64_t batch_seed = 0;
    for (std::int64_t b = 0; b < n; ++b) {
      Message& m = batch[static_cast<std::size_t>(b)];
      m.index = first + static_cast<std::uint64_t>(b);
      m.record.prompt = source.next_prompt();
      const std::uint64_t seed = source.next_seed();
      if (b == 0) batch_seed = seed;
      m.record.seed = base.kind == SamplerProfile::Kind::kHfTorchCpu ? batch_seed : seed;
      m.record.sampler = {message_spec(o, base, n, b), o.params.temperature, o.params.top_k, o.params.top_p,
                          o.params.min_p, {}};
      m.profile = SamplerProfile::parse(m.record.sampler.profile);
      m.params = profile_params(m.profile, m.record.sampler);
      const LogitsProcessors processors = source.next_processors(m.profile);
      if (bug != BugMode::kUnloggedProcessors) m.record.sampler.processors = processors;
      if (processors.active()) {
        m.processors.emplace(processor_rules(m.profile), processors, m.record.prompt, m.record.output, vocab);
      }
      if (!m.profile.gumbel_max()) {
        // llama.cpp seeds its dist stream with 32 bits: log those, as the server would.
        m.record.seed &= 0xFFFFFFFFull;
        const std::uint64_t effective = m.record.seed + (bug == BugMode::kWrongSeed ? 1 : 0);
        m.uniforms.emplace(static_cast<std::uint32_t>(effective));
      }
      m.record.model = info;
      m.record.server = o.server_prefix + "-" + std::to_string(m.index % static_cast<std::uint64_t>(o.n_servers));
      m.record.timestamp_us = o.start_time_us + static_cast<std::int64_t>(m.index) * 1000000;
      m.adversarial = adversary != Adversary::kNone && coin(adversary_rng) < o.adversary_fraction;
      // Disjoint payload slices: no token carries more than 32 bits.
      m.payload_start = m.payload_next = m.index * static_cast<std::uint64_t>(o.max_tokens) * 32;
    }
    decode_batch(server, batch, first);
    for (Message& m : batch) {
      summary.prompt_tokens += m.record.prompt.size();
      summary.output_tokens += m.record.output.size();
      summary.adversarial_messages += m.adversarial ? 1 : 0;
      summary.embedded_bits += m.payload_next - m.payload_start;
      if (writer) {
        m.record.message_id = writer->next_message_id();
        writer->append(m.record);
        truth << truth_line(m, adversary, bug) << "\n";
      }
    }
    summary.messages += static_cast<std::uint64_t>(n);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (writer_rank && (summary.messages % (16 * static_cast<std::uint64_t>(o.batch)) == 0 || summary.messages == o.messages)) {
      FSSL_LOG_INFO("{}/{} messages, {} output tokens, {:.0f} tok/s", summary.messages, o.messages,
                    summary.output_tokens, static_cast<double>(summary.output_tokens) / std::max(seconds, 1e-9));
    }
  }
  if (writer) writer->close();
  if (truth.is_open()) {
    truth.flush();
    FSSL_CHECK(truth.good(), ArchiveError, "{}: writing the ground truth failed", simulate_truth_path(o.archive_dir));
  }
  // Every rank returns only once rank 0 has closed the archive and its truth file: callers on
  // the other ranks open them next (a race that hung the TP-4 test when rank 0 was slow).
  comm.barrier();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace fssl
