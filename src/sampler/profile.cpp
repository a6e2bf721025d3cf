// Profile-spec parsing (docs/sampler-spec.md §1) and dispatch to the noise generators (noise.h).
#include "fssl/sampler_profile.h"

#include <ATen/ATen.h>

#include <map>
#include <set>

#include "fssl/noise.h"

namespace fssl {
namespace {

bool is_integer(const std::string& v) {
  return !v.empty() && v.size() <= 18 && v.find_first_not_of("0123456789") == std::string::npos &&
         (v.size() == 1 || v[0] != '0');
}

std::int64_t integer_param(const std::map<std::string, std::string>& params, const std::string& key,
                           std::int64_t fallback, const std::string& spec) {
  auto it = params.find(key);
  if (it == params.end()) return fallback;
  FSSL_CHECK(is_integer(it->second), ProfileError, "sampler profile '{}': {}={} is not a non-negative integer", spec,
             key, it->second);
  return std::stoll(it->second);
}

template <typename Enum>
Enum named_param(const std::map<std::string, std::string>& params, const std::string& key,
                 const std::vector<std::pair<const char*, Enum>>& names, const std::string& spec) {
  std::string known;
  for (const auto& [name, value] : names) known += (known.empty() ? "" : ", ") + std::string(name);
  auto it = params.find(key);
  FSSL_CHECK(it != params.end(), ProfileError, "sampler profile '{}': {}= is required ({})", spec, key, known);
  for (const auto& [name, value] : names) {
    if (it->second == name) return value;
  }
  FSSL_THROW(ProfileError, "sampler profile '{}': {}={} is unknown ({})", spec, key, it->second, known);
}

const std::vector<std::pair<const char*, VllmMrv2Noise>> kMrv2Noises = {{"fp64-eps20", VllmMrv2Noise::kFp64Eps20},
                                                                        {"fp32-log-1e-7", VllmMrv2Noise::kFp32Log1e7},
                                                                        {"fp32-log-tiny", VllmMrv2Noise::kFp32LogTiny},
                                                                        {"fp32-log1p", VllmMrv2Noise::kFp32Log1p},
                                                                        {"fp64", VllmMrv2Noise::kFp64Rand64},
                                                                        {"murmur3", VllmMrv2Noise::kMurmur3},
                                                                        {"murmur3-unfused", VllmMrv2Noise::kMurmur3Unfused},
                                                                        {"murmur3-fp64", VllmMrv2Noise::kMurmur3Fp64}};
const std::vector<std::pair<const char*, SglangNoise>> kSglangNoises = {
    {"murmur3", SglangNoise::kMurmur3}, {"murmur3-capped", SglangNoise::kMurmur3Capped}};
const std::vector<std::pair<const char*, bool>> kLogitsDtypes = {{"fp32", false}, {"bf16", true}};
// vllm-mrv2's min_tokens mask: released at row min_tokens (V1's rule, vllm#46243) or one row late.
const std::vector<std::pair<const char*, bool>> kMinTokensRules = {{"on-time", false}, {"late", true}};

// E = exp(-G) of engine G rows, the Exp(1) view scoring ranks pi / E with; kept > 0 where G is huge.
at::Tensor exp_of_negated(const at::Tensor& g) { return g.neg().exp().clamp_min(1e-30f); }

}  // namespace

SamplerProfile SamplerProfile::parse(const std::string& spec) {
  SamplerProfile p;
  p.spec = spec;
  const std::size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  std::map<std::string, std::string> params;
  if (colon != std::string::npos) {
    std::size_t start = colon + 1;
    while (true) {
      const std::size_t comma = spec.find(',', start);
      const std::string item = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      const std::size_t eq = item.find('=');
      FSSL_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < item.size(), ProfileError,
                 "sampler profile '{}': '{}' is not key=value", spec, item);
      FSSL_CHECK(params.emplace(item.substr(0, eq), item.substr(eq + 1)).second, ProfileError,
                 "sampler profile '{}': key '{}' given twice", spec, item.substr(0, eq));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  std::set<std::string> allowed;
  if (name == "fssl-philox") {
    p.kind = Kind::kFsslPhilox;
    allowed = {"v"};
    p.version = integer_param(params, "v", 1, spec);
    FSSL_CHECK(p.version == 1, ProfileError, "sampler profile '{}': fssl-philox version {} is unknown (1)", spec,
               p.version);
  } else if (name == "vllm-cuda") {
    p.kind = Kind::kVllmCuda;
    allowed = {"sm_count", "max_threads_per_sm"};
    p.sm_count = integer_param(params, "sm_count", 0, spec);
    p.max_threads_per_sm = integer_param(params, "max_threads_per_sm", 2048, spec);
    FSSL_CHECK(p.sm_count > 0 && p.max_threads_per_sm >= 256, ProfileError,
               "sampler profile '{}': vllm-cuda needs sm_count > 0 (the GPU's multiprocessor count)", spec);
  } else if (name == "hf-torch-cpu") {
    p.kind = Kind::kHfTorchCpu;
    allowed = {"batch_size", "batch_row"};
    p.batch_size = integer_param(params, "batch_size", 1, spec);
    p.batch_row = integer_param(params, "batch_row", 0, spec);
    FSSL_CHECK(p.batch_size >= 1 && p.batch_row < p.batch_size, ProfileError,
               "sampler profile '{}': needs batch_size >= 1 and batch_row < batch_size", spec);
  } else if (name == "llamacpp-dist") {
    p.kind = Kind::kLlamacppDist;
    allowed = {"single_draw", "backend"};
    p.single_draw = integer_param(params, "single_draw", 0, spec);
    p.backend = integer_param(params, "backend", 0, spec);
  } else if (name == "vllm-mrv2") {
    p.kind = Kind::kVllmMrv2;
    allowed = {"noise", "min_tokens"};
    p.mrv2_noise = named_param(params, "noise", kMrv2Noises, spec);
    if (params.count("min_tokens") > 0) p.min_tokens_late = named_param(params, "min_tokens", kMinTokensRules, spec);
  } else if (name == "sglang") {
    p.kind = Kind::kSglang;
    allowed = {"noise", "logits"};
    p.sglang_noise = named_param(params, "noise", kSglangNoises, spec);
    if (params.count("logits") > 0) p.logits_bf16 = named_param(params, "logits", kLogitsDtypes, spec);
  } else {
    FSSL_THROW(ProfileError,
               "sampler profile '{}': unknown profile '{}' (fssl-philox, vllm-cuda, vllm-mrv2, sglang, "
               "hf-torch-cpu, llamacpp-dist)",
               spec, name);
  }
  for (const auto& [key, value] : params) {
    FSSL_CHECK(allowed.count(key) > 0, ProfileError, "sampler profile '{}': unknown parameter '{}' for {}", spec, key,
               name);
  }
  return p;
}

ProfileNoise profile_noise_rows(const SamplerProfile& p, std::uint64_t seed, std::int64_t prompt_len,
                                const VocabShard& vocab, std::int64_t first_row, std::int64_t n_rows) {
  FSSL_CHECK(p.gumbel_max(), ProfileError, "sampler profile '{}' is inverse-CDF: no Gumbel noise rows", p.spec);
  FSSL_CHECK(!p.positional() || prompt_len >= 1, ProfileError,
             "sampler profile '{}' keys noise by position: the message needs a prompt", p.spec);
  ProfileNoise rows;
  const bool engine_g = p.positional();
  at::Tensor& out = engine_g ? rows.gumbel : rows.noise;
  out = engine_g ? at::zeros({n_rows, vocab.size}, at::kFloat) : at::ones({n_rows, vocab.size}, at::kFloat);
  if (vocab.valid > 0 && n_rows > 0) {
    at::Tensor cols = vocab.valid == vocab.size ? out : at::empty({n_rows, vocab.valid}, at::kFloat);
    float* data = cols.data_ptr<float>();
    const std::int64_t position = prompt_len - 1 + first_row;  // of the token whose logits row first_row samples
    switch (p.kind) {
      case SamplerProfile::Kind::kFsslPhilox:
        noise_rows_fssl_philox(seed, first_row, n_rows, vocab.begin, vocab.valid, data);
        break;
      case SamplerProfile::Kind::kVllmCuda:
        noise_rows_vllm_cuda(seed, p.sm_count, p.max_threads_per_sm, vocab.full, first_row, n_rows, vocab.begin,
                             vocab.valid, data);
        break;
      case SamplerProfile::Kind::kHfTorchCpu:
        noise_rows_hf_torch_cpu(seed, p.batch_size, p.batch_row, vocab.full, first_row, n_rows, vocab.begin,
                                vocab.valid, data);
        break;
      case SamplerProfile::Kind::kVllmMrv2:
        if (vllm_mrv2_fp64(p.mrv2_noise)) {
          // The server adds float64 G to the widened logits; fssl decides on RN32(G) (spec §7, limits).
          at::Tensor g64 = at::empty({n_rows, vocab.valid}, at::kDouble);
          noise_rows_vllm_mrv2_fp64(p.mrv2_noise, seed, position, n_rows, vocab.begin, vocab.valid,
                                    g64.data_ptr<double>());
          cols.copy_(g64);
        } else {
          noise_rows_vllm_mrv2(p.mrv2_noise, seed, position, n_rows, vocab.begin, vocab.valid, data);
        }
        break;
      case SamplerProfile::Kind::kSglang:
        noise_rows_sglang(p.sglang_noise, seed, position, n_rows, vocab.begin, vocab.valid, data);
        break;
      case SamplerProfile::Kind::kLlamacppDist:
        break;
    }
    if (vocab.valid != vocab.size) out.narrow(1, 0, vocab.valid).copy_(cols);
  }
  if (engine_g) {
    rows.noise = exp_of_negated(rows.gumbel);
  } else if (p.kind == SamplerProfile::Kind::kFsslPhilox) {
    rows.gumbel = fssl_philox_gumbel_rows(rows.noise);
  }
  return rows;
}

ProfileNoise profile_noise_cat(const std::vector<ProfileNoise>& parts) {
  FSSL_CHECK(!parts.empty(), ProfileError, "profile_noise_cat: no rows");
  if (parts.size() == 1) return parts.front();
  std::vector<at::Tensor> e, g;
  for (const ProfileNoise& part : parts) {
    e.push_back(part.noise);
    if (part.gumbel.defined()) g.push_back(part.gumbel);
  }
  FSSL_CHECK(g.empty() || g.size() == e.size(), ProfileError, "profile_noise_cat: parts of different profiles");
  return {at::cat(e), g.empty() ? at::Tensor() : at::cat(g)};
}

at::Tensor fssl_philox_gumbel_rows(const at::Tensor& noise) {
  at::Tensor e = noise.contiguous();
  at::Tensor g = at::empty_like(e);
  const float* in = e.data_ptr<float>();
  float* out = g.data_ptr<float>();
  for (std::int64_t i = 0; i < e.numel(); ++i) out[i] = noise_gumbel_fssl_philox(in[i]);
  return g;
}

std::string profile_settings_problem(const SamplerProfile& p, const SamplerSettings& settings) {
  if (p.kind != SamplerProfile::Kind::kSglang || settings.temperature < 1e-5f) return "";
  if (settings.min_p > 0.0f)
    return "sglang refuses min_p with a sampling seed: the message cannot come from its seeded sampler";
  return "";
}

SamplerParams profile_params(const SamplerProfile& profile, const SamplerSettings& settings) {
  SamplerParams params{settings.temperature, settings.top_k, settings.top_p, settings.min_p};
  params.min_p_last = profile.kind == SamplerProfile::Kind::kHfTorchCpu;
  if (profile.kind == SamplerProfile::Kind::kSglang) {
    if (params.top_k >= (1 << 30)) params.top_k = 0;  // SGLang's TOP_K_ALL
    // Either filter sends SGLang's seeded batch through its sort (top_k_top_p_min_p_sampling_from_probs_torch).
    params.sort_ranked = !params.greedy() && (params.top_k > 0 || params.top_p < 1.0f);
    params.sort_bf16 = profile.logits_bf16;
  }
  return params;
}

ProfileNoise profile_noise_for_logits(const SamplerProfile& p, std::uint64_t seed, std::int64_t prompt_len,
                                      const at::Tensor& logits, const SamplerParams& params, const VocabShard& vocab,
                                      std::int64_t first_row, double band_logits, Communicator& comm) {
  const std::int64_t n = logits.size(0);
  if (!params.sort_ranked || params.greedy()) return profile_noise_rows(p, seed, prompt_len, vocab, first_row, n);
  FSSL_CHECK(p.kind == SamplerProfile::Kind::kSglang && prompt_len >= 1, ProfileError,
             "sampler profile '{}': noise keyed by sort rank is SGLang's, and needs a prompt", p.spec);
  FSSL_CHECK(logits.size(1) == vocab.size, ProfileError, "sampler profile '{}': logits of {} columns, shard of {}",
             p.spec, logits.size(1), vocab.size);
  const at::Tensor rank = sampler_sort_ranks(sampler_sort_key(logits, params), params, band_logits, comm);
  ProfileNoise rows;
  rows.gumbel = at::empty({n, vocab.size}, at::kFloat);
  noise_rows_sglang_keyed(p.sglang_noise, seed, prompt_len - 1 + first_row, n, vocab.size, rank.data_ptr<std::int64_t>(),
                          rows.gumbel.data_ptr<float>());
  rows.noise = exp_of_negated(rows.gumbel);
  return rows;
}

}  // namespace fssl
