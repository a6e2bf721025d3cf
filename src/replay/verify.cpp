// verify_message (verify.h): prefill, noise by profile, Gumbel-max scores; bad messages become
// unverifiable with a reason instead of errors.
#include "fssl/verify.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "fssl/noise.h"
#include "fssl/processors.h"
#include "fssl/sampler_profile.h"
#include "fssl/scoring_device.h"

namespace fssl {
namespace {

// Output rows scored per logits_shard call: bounds the [rows, V/t] float32 logits in memory.
constexpr std::int64_t kLogitRowsPerChunk = 256;

// The logit shard of `rows` [n, hidden] on the host, where the CPU scorers run (a GPU model's
// chunk is copied over).
at::Tensor logits_for_scoring(Model& model, const at::Tensor& rows) {
  at::Tensor logits = model.logits_shard(rows);
  return logits.is_cpu() ? logits : logits.to(at::kCPU);
}

// Gumbel-max rows of a model on one GPU are scored there by the fused kernels (fssl/scoring_device.h):
// the [rows, V] logits chunk never leaves the device. Tensor-parallel groups score their shards
// with the CPU path's collectives.
bool scores_on_device(const Model& model) {
  return model.options().device.is_cuda() && model.tp_size() == 1 && fused_device_scoring_built();
}

// Applies the message's processors to a logit chunk in place (rows first, first + n) and returns the
// raw-logit rank #{i : l_i > l_y} taken before them, which the logit_rank column keeps; undefined
// when the message has no active processor. A single-GPU chunk is ranked on its device; host
// chunks through scoring.h's collective raw_logit_rank.
at::Tensor process_chunk(const MessageProcessors& processors, at::Tensor& logits, const at::Tensor& claimed,
                         std::int64_t first, const VocabShard& vocab, Communicator& comm) {
  if (!processors.active()) return at::Tensor();
  at::Tensor raw_rank;
  if (logits.is_cpu()) {
    raw_rank = raw_logit_rank(logits, claimed, vocab, comm);
  } else {
    const at::Tensor y = claimed.to(logits.device()).unsqueeze(1);
    raw_rank = logits.gt(logits.gather(1, y)).sum(1).to(at::kCPU);
  }
  processors.apply(logits, first, vocab);
  return raw_rank;
}

// verify_check, keeping the profile it parsed for the scorer (each record's spec is parsed once).
std::string check_record(const Model& model, const LogRecord& r, SamplerProfile* parsed) {
  if (std::string problem = record_problem(r); !problem.empty()) return problem;
  SamplerProfile& profile = *parsed;
  try {
    profile = SamplerProfile::parse(r.sampler.profile);
  } catch (const ProfileError& e) {
    return e.what();
  }
  if (!profile.gumbel_max() && r.seed > 0xFFFFFFFFull) {
    return fmt::format("seed {} does not fit llama.cpp's 32-bit sampler seed: the logged seed cannot be the one used",
                       r.seed);
  }
  if (std::string problem = profile_settings_problem(profile, r.sampler); !problem.empty()) return problem;
  if (std::string problem = processors_problem(profile, r.sampler.processors); !problem.empty()) return problem;
  const std::int64_t vocab = model.config().vocab_size;
  if (static_cast<std::int64_t>(r.model.vocab_size) != vocab) {
    return fmt::format("logged logits width {} differs from the model's vocab size {}: noise rows would not match",
                       r.model.vocab_size, vocab);
  }
  for (const auto* ids : {&r.prompt, &r.output}) {
    for (std::int32_t id : *ids) {
      if (id < 0 || id >= vocab) return fmt::format("token id {} outside the model's vocabulary [0, {})", id, vocab);
    }
  }
  return "";
}

// Scores one verifiable message (its profile parsed by check_record) from its output rows'
// hidden states [n_output, hidden].
MessageScores score_message(Model& model, const LogRecord& r, const SamplerProfile& profile, const at::Tensor& hidden,
                            const ScoreConfig& config, const IptConfig& ipt_config) {
  const std::int64_t n_output = static_cast<std::int64_t>(r.output.size());
  at::Tensor claimed = at::tensor(std::vector<std::int64_t>(r.output.begin(), r.output.end()), at::kLong);
  const SamplerParams params = profile_params(profile, r.sampler);
  // Scores are taken on the processed logits l', as the server sampled (the tier's rank included);
  // the logit_rank column keeps the rank among the raw logits (docs/scoring.md).
  const MessageProcessors processors(processor_rules(profile), r.sampler.processors, r.prompt, r.output,
                                     model.config().vocab_size);
  const VocabShard& vocab = model.vocab_shard();
  if (!profile.gumbel_max()) {
    // llama.cpp's stream advances only on multi-candidate steps: rows are replayed in order.
    LlamacppUniformStream stream(static_cast<std::uint32_t>(r.seed));
    std::vector<IptScoreBatch> ipt_parts;
    for (std::int64_t first = 0; first < n_output; first += kLogitRowsPerChunk) {
      const std::int64_t n = std::min(kLogitRowsPerChunk, n_output - first);
      at::Tensor logits = logits_for_scoring(model, hidden.narrow(0, first, n));
      const at::Tensor y = claimed.narrow(0, first, n);
      const at::Tensor raw_rank = process_chunk(processors, logits, y, first, vocab, model.communicator());
      ipt_parts.push_back(score_ipt_rows(logits, y, params, vocab, profile.single_draw != 0,
                                         [&] { return stream.next(); }, ipt_config, model.communicator()));
      if (raw_rank.defined()) ipt_parts.back().logit_rank = raw_rank;
    }
    return ipt_parts.size() == 1 ? std::move(ipt_parts.front()) : ipt_batch_cat(ipt_parts);
  }
  std::vector<ScoreBatch> parts;
  const bool on_device = scores_on_device(model);
  for (std::int64_t first = 0; first < n_output; first += kLogitRowsPerChunk) {
    const std::int64_t n = std::min(kLogitRowsPerChunk, n_output - first);
    const at::Tensor y = claimed.narrow(0, first, n);
    if (on_device) {
      at::Tensor logits = model.logits_shard(hidden.narrow(0, first, n));
      const at::Tensor raw_rank = process_chunk(processors, logits, y, first, vocab, model.communicator());
      parts.push_back(score_gumbel_rows_device(logits, y, profile, r.seed, static_cast<std::int64_t>(r.prompt.size()),
                                               first, params, config));
      if (raw_rank.defined()) parts.back().logit_rank = raw_rank;
      continue;
    }
    at::Tensor logits = logits_for_scoring(model, hidden.narrow(0, first, n));
    const at::Tensor raw_rank = process_chunk(processors, logits, y, first, vocab, model.communicator());
    const ProfileNoise noise =
        params.greedy() ? ProfileNoise{at::ones_like(logits), at::Tensor()}
                        : profile_noise_for_logits(profile, r.seed, static_cast<std::int64_t>(r.prompt.size()), logits,
                                                   params, vocab, first, score_widest_margin(config),
                                                   model.communicator());
    parts.push_back(score_gumbel_rows(logits, noise.noise, y, params, vocab, config, model.communicator(),
                                      profile.server_rule(), noise.decision(params)));
    if (raw_rank.defined()) parts.back().logit_rank = raw_rank;
  }
  return score_batch_cat(parts);
}

}  // namespace

std::string verify_check(const Model& model, const LogRecord& r) {
  SamplerProfile profile;
  return check_record(model, r, &profile);
}

std::vector<MessageScores> verify_messages(Model& model, const std::vector<LogRecord>& records,
                                           const ScoreConfig& config, const IptConfig& ipt_config) {
  std::vector<MessageScores> out(records.size());
  std::vector<std::int64_t> ids;
  std::vector<Segment> segments;
  std::vector<std::size_t> packed;  // records in the packed batch, in segment order
  std::vector<SamplerProfile> profiles;  // of the packed records
  for (std::size_t i = 0; i < records.size(); ++i) {
    const LogRecord& r = records[i];
    SamplerProfile profile;
    if (std::string problem = check_record(model, r, &profile); !problem.empty()) {
      out[i] = Unverifiable{std::move(problem)};
      continue;
    }
    profiles.push_back(std::move(profile));
    const auto start = static_cast<std::int64_t>(ids.size());
    ids.insert(ids.end(), r.prompt.begin(), r.prompt.end());
    ids.insert(ids.end(), r.output.begin(), r.output.end());
    segments.push_back({start, static_cast<std::int64_t>(ids.size()) - start, nullptr});
    packed.push_back(i);
  }
  if (packed.empty()) return out;
  c10::NoGradGuard no_grad;
  // One packed prefill for the whole batch: segments attend only within themselves (model.h).
  const at::Tensor hidden = model.forward_hidden(at::tensor(ids, at::kLong), segments);
  for (std::size_t k = 0; k < packed.size(); ++k) {
    const LogRecord& r = records[packed[k]];
    const auto n_prompt = static_cast<std::int64_t>(r.prompt.size());
    // Output token j is predicted by the row of position n_prompt + j - 1 (teacher forcing).
    const at::Tensor rows = hidden.narrow(0, segments[k].start + n_prompt - 1, static_cast<std::int64_t>(r.output.size()));
    out[packed[k]] = score_message(model, r, profiles[k], rows, config, ipt_config);
  }
  return out;
}

MessageScores verify_message(Model& model, const LogRecord& r, const ScoreConfig& config, const IptConfig& ipt_config) {
  return std::move(verify_messages(model, {r}, config, ipt_config).front());
}

}  // namespace fssl
