// fssl/scoring_device.h in CUDA builds: the fused kernel on the logits' device, the CPU path for the rows
// it hands back. Only at::Tensor's generic API and the CUDA runtime are used here, so this file
// also compiles (and links) against a CPU-only libtorch; it runs only where the tensors are CUDA.
#include <ATen/ATen.h>
#include <cuda_runtime_api.h>

#include <cstring>
#include <vector>

#include "fssl/error.h"
#include "fssl/cuda_check.h"
#include "fssl/noise_cuda.h"
#include "fssl/scoring_cuda.h"
#include "fssl/scoring_device.h"
#include "fssl/scoring_fused.h"

namespace fssl {
namespace {

// The Exp(1) rows the CPU path needs for the rows the kernel handed back: from the device for
// vllm-cuda (the CPU generator models the device's logarithm only to 2e-4), else from fssl's CPU
// generators.
ProfileNoise fallback_noise(const SamplerProfile& profile, std::uint64_t seed, std::int64_t prompt_len,
                            std::int64_t vocab, std::int64_t row, const at::Tensor& logits) {
  if (profile.kind != SamplerProfile::Kind::kVllmCuda) {
    return profile_noise_rows(profile, seed, prompt_len, VocabShard::whole(vocab), row, 1);
  }
  at::Tensor rows = at::empty({1, vocab}, logits.options());
  FSSL_CUDA_CHECK(noise_rows_vllm_cuda_device(seed, profile.sm_count, profile.max_threads_per_sm, vocab, row, 1, 0,
                                              vocab, rows.data_ptr<float>(), nullptr));
  return {rows.cpu(), at::Tensor()};
}

}  // namespace

// The kernel takes the variants as ints in declaration order (noise/engine_device.cuh).
static_assert(static_cast<int>(VllmMrv2Noise::kFp32Log1p) == 3 && static_cast<int>(VllmMrv2Noise::kFp64Rand64) == 4 &&
              static_cast<int>(VllmMrv2Noise::kMurmur3) == 5 && static_cast<int>(VllmMrv2Noise::kMurmur3Fp64) == 7 &&
              static_cast<int>(SglangNoise::kMurmur3Capped) == 1);

bool fused_device_scoring_built() { return true; }

ScoreBatch score_gumbel_rows_device(const at::Tensor& logits_in, const at::Tensor& claimed_in,
                                    const SamplerProfile& profile, std::uint64_t seed, std::int64_t prompt_len,
                                    std::int64_t first_row, const SamplerParams& params, const ScoreConfig& config) {
  FSSL_CHECK(logits_in.is_cuda() && logits_in.dim() == 2 && logits_in.scalar_type() == at::kFloat, ReplayError,
             "GPU scoring takes [rows, vocab] float32 logits on a CUDA device");
  FSSL_CHECK(profile.gumbel_max(), ReplayError, "GPU scoring: profile {} is not a Gumbel-max sampler", profile.spec);
  const at::Tensor logits = logits_in.contiguous();
  const std::int64_t n = logits.size(0), V = logits.size(1);
  FSSL_CHECK(claimed_in.numel() == n, ReplayError, "GPU scoring: {} claimed ids for {} rows", claimed_in.numel(), n);
  const at::Tensor claimed = claimed_in.to(logits.device(), at::kLong).contiguous();
  const ServerRule rule = profile.server_rule();
  if (params.sort_ranked) {
    // SGLang's sorted top-k / top-p keys noise by sort rank: the fused row does not sort, so these
    // rows are scored by the CPU reference (the whole message here, as the fallback would row by row).
    const at::Tensor cpu_logits = logits.cpu();
    auto local = comm_local();
    const ProfileNoise noise = profile_noise_for_logits(profile, seed, prompt_len, cpu_logits, params,
                                                        VocabShard::whole(V), first_row,
                                                        score_widest_margin(config), *local);
    return score_gumbel_rows(cpu_logits, noise.noise, claimed_in.to(at::kCPU, at::kLong), params, VocabShard::whole(V),
                             config, *local, rule, noise.decision(params));
  }
  const fused::RowParams row = fused::row_params(params, rule, fused::ascending_thresholds(config));

  FusedNoiseSource source;
  at::Tensor e_device, g_device;  // explicit rows (other profiles), kept alive through the launch
  if (profile.kind == SamplerProfile::Kind::kVllmCuda) {
    source.kind = FusedNoiseSource::Kind::kVllmCuda;
    source.seed = seed;
    source.sm_count = profile.sm_count;
    source.max_threads_per_sm = profile.max_threads_per_sm;
    source.first_row = first_row;
  } else if (profile.positional()) {
    // Counter-based engine noise: generated per column inside the kernel, nothing uploaded.
    const bool sglang = profile.kind == SamplerProfile::Kind::kSglang;
    source.kind = sglang ? FusedNoiseSource::Kind::kSglang : FusedNoiseSource::Kind::kVllmMrv2;
    source.variant = sglang ? static_cast<int>(profile.sglang_noise) : static_cast<int>(profile.mrv2_noise);
    source.seed = seed;
    source.first_position = prompt_len - 1 + first_row;
  } else {
    const ProfileNoise rows_noise = profile_noise_rows(profile, seed, prompt_len, VocabShard::whole(V), first_row, n);
    const at::Tensor g = rows_noise.decision(params);
    e_device = rows_noise.noise.to(logits.device());
    source.e = e_device.data_ptr<float>();
    source.ld = V;
    if (g.defined()) {
      g_device = g.contiguous().to(logits.device());
      source.g = g_device.data_ptr<float>();
    }
  }
  at::Tensor results = at::empty({n * static_cast<std::int64_t>(sizeof(fused::RowResult))},
                                 logits.options().dtype(at::kByte));
  FSSL_CUDA_CHECK(score_rows_cuda(logits.data_ptr<float>(), V, n, V, claimed.data_ptr<std::int64_t>(), source, row,
                                  reinterpret_cast<fused::RowResult*>(results.data_ptr<std::uint8_t>()), nullptr));
  const at::Tensor host = results.cpu();
  std::vector<fused::RowResult> rows(static_cast<std::size_t>(n));
  std::memcpy(rows.data(), host.data_ptr<std::uint8_t>(), rows.size() * sizeof(fused::RowResult));

  for (std::size_t r = 0; r < rows.size(); ++r) {
    FSSL_CHECK(rows[r].status != fused::kRowBadClaim, ReplayError, "GPU scoring: claimed id of row {} outside [0, {})",
               first_row + static_cast<std::int64_t>(r), V);
  }
  const at::Tensor claimed_cpu = claimed_in.to(at::kCPU, at::kLong).contiguous();
  auto local = comm_local();
  return fused::score_batch_with_fallback(std::move(rows), claimed_cpu, config, V, [&](std::int64_t r) {
    const ProfileNoise noise = fallback_noise(profile, seed, prompt_len, V, first_row + r, logits);
    return score_gumbel_rows(logits.narrow(0, r, 1).cpu(), noise.noise, claimed_cpu.narrow(0, r, 1), params,
                             VocabShard::whole(V), config, *local, rule, noise.decision(params));
  });
}

}  // namespace fssl
