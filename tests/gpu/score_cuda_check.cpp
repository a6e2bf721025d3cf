// GPU check (tests/gpu/run.sh): the fused CUDA scorer against the CPU reference score_gumbel_rows,
// element for element, for each noise profile, several sampler settings and vocabulary sizes,
// then its throughput. Needs a GPU; links the CPU libtorch only for the reference.
//
// Per case: the same logits, claimed ids and noise go to both. vllm-cuda rows are generated on the
// device (fssl's bit-exact kernel) and G = -logf(E) is computed there too, so the CPU sees exactly
// the kernel's G; the kernel also runs with the noise regenerated on the fly, which must give the
// same bits as with the explicit rows. fssl-philox and hf-torch-cpu rows come from fssl's CPU
// generators. Strict fields (margin bits, admissible counts, logit and gumbel ranks, exact) must be
// equal; prob to 1e-6. Exit 0 when everything matches ("SKIP" without a GPU), 1 otherwise.
//
//   score_cuda_check [--rows 32] [--bench-rows 4096] [--vocab 32000,128256,151936,262144]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fssl/noise.h"
#include "fssl/noise_cuda.h"
#include "fssl/sampler_profile.h"
#include "fssl/scoring_cuda.h"
#include "fssl/scoring_fused.h"

namespace {

using namespace fssl;

#define CHECK_CUDA(call)                                                                       \
  do {                                                                                         \
    const cudaError_t rc_ = (call);                                                            \
    if (rc_ != cudaSuccess) {                                                                  \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(rc_)); \
      std::exit(2);                                                                            \
    }                                                                                          \
  } while (0)

// A device copy of a contiguous CPU tensor (freed at exit of the check: the process is short).
template <class T>
T* upload(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  void* p = nullptr;
  CHECK_CUDA(cudaMalloc(&p, static_cast<std::size_t>(c.nbytes())));
  CHECK_CUDA(cudaMemcpy(p, c.data_ptr(), static_cast<std::size_t>(c.nbytes()), cudaMemcpyHostToDevice));
  return static_cast<T*>(p);
}

std::vector<fused::RowResult> run_kernel(const float* logits, std::int64_t n, std::int64_t V, const std::int64_t* claimed,
                                         const FusedNoiseSource& noise, const fused::RowParams& params) {
  fused::RowResult* results = nullptr;
  CHECK_CUDA(cudaMalloc(&results, sizeof(fused::RowResult) * static_cast<std::size_t>(n)));
  CHECK_CUDA(score_rows_cuda(logits, V, n, V, claimed, noise, params, results, nullptr));
  std::vector<fused::RowResult> out(static_cast<std::size_t>(n));
  CHECK_CUDA(cudaMemcpy(out.data(), results, sizeof(fused::RowResult) * out.size(), cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaFree(results));
  return out;
}

struct Case {
  const char* name;
  SamplerParams params;
};

int failures = 0;

void compare(const std::string& label, const ScoreBatch& cpu, const std::vector<fused::RowResult>& rows,
             const at::Tensor& claimed, const ScoreConfig& config, std::int64_t V) {
  std::vector<fused::RowResult> taken = rows;
  int fallback = 0;
  for (auto& r : taken) {
    if (r.status != fused::kRowOk) {
      ++fallback;
      r = fused::RowResult{};
    }
  }
  const ScoreBatch gpu = fused::score_batch_of(taken, claimed, config, V);
  at::Tensor ok = at::ones({cpu.margin.size(0)}, at::kBool);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].status != fused::kRowOk) ok[static_cast<std::int64_t>(r)] = false;
  }
  auto differ = [&](const at::Tensor& a, const at::Tensor& b) {
    at::Tensor d = a.ne(b);
    if (d.dim() > 1) d = d.any(1);
    return d.logical_and(ok).sum().item<std::int64_t>();
  };
  const std::int64_t margin = differ(cpu.margin, gpu.margin), admissible = differ(cpu.admissible, gpu.admissible),
                     logit_rank = differ(cpu.logit_rank, gpu.logit_rank),
                     gumbel_rank = differ(cpu.gumbel_rank, gpu.gumbel_rank), exact = differ(cpu.exact, gpu.exact);
  const double prob = (cpu.prob - gpu.prob).abs().masked_select(ok).max().item<double>();
  const bool pass = margin + admissible + logit_rank + gumbel_rank + exact == 0 && prob <= 1e-6;
  failures += !pass;
  std::printf("%-44s %s  rows %lld (fallback %d)  mismatched rows: margin %lld admissible %lld logit_rank %lld "
              "gumbel_rank %lld exact %lld  max|prob diff| %.2e  exact tokens %lld\n",
              label.c_str(), pass ? "ok      " : "MISMATCH", static_cast<long long>(rows.size()), fallback,
              static_cast<long long>(margin), static_cast<long long>(admissible), static_cast<long long>(logit_rank),
              static_cast<long long>(gumbel_rank), static_cast<long long>(exact), prob,
              static_cast<long long>(cpu.exact.sum().item<std::int64_t>()));
  if (!pass) {
    for (std::int64_t r = 0; r < cpu.margin.size(0); ++r) {
      if (!ok[r].item<bool>()) continue;
      if (cpu.margin[r].item<float>() != gpu.margin[r].item<float>() || !at::equal(cpu.admissible[r], gpu.admissible[r]) ||
          cpu.exact[r].item<bool>() != gpu.exact[r].item<bool>()) {
        auto counts = [](const at::Tensor& row) {
          std::string text;
          for (std::int64_t k = 0; k < row.size(0); ++k) text += (k ? "," : "") + std::to_string(row[k].item<std::int64_t>());
          return text;
        };
        std::printf("    row %lld: margin cpu %.9g gpu %.9g, exact %d/%d, gumbel_rank %lld/%lld, admissible cpu %s gpu %s\n",
                    static_cast<long long>(r), cpu.margin[r].item<float>(), gpu.margin[r].item<float>(),
                    cpu.exact[r].item<bool>(), gpu.exact[r].item<bool>(),
                    static_cast<long long>(cpu.gumbel_rank[r].item<std::int64_t>()),
                    static_cast<long long>(gpu.gumbel_rank[r].item<std::int64_t>()), counts(cpu.admissible[r]).c_str(),
                    counts(gpu.admissible[r]).c_str());
      }
    }
  }
}

// Equal bits in every field (on-the-fly noise against the same rows given explicitly).
void compare_raw(const std::string& label, const std::vector<fused::RowResult>& a, const std::vector<fused::RowResult>& b) {
  int differ = 0;
  for (std::size_t r = 0; r < a.size(); ++r) differ += std::memcmp(&a[r], &b[r], sizeof(fused::RowResult)) != 0;
  failures += differ != 0;
  std::printf("%-44s %s  rows %zu, %d differ in any bit\n", label.c_str(), differ ? "MISMATCH" : "ok      ", a.size(),
              differ);
}

void check_vocab(std::int64_t V, std::int64_t n, int sm_count) {
  at::manual_seed(V);
  at::Tensor logits = at::randn({n, V}) * 2.5;
  logits.narrow(1, 0, 8).add_(6.0);
  at::Tensor claimed = at::randint(0, V, {n}, at::kLong);
  for (std::int64_t r = 0; r < n; r += 3) claimed[r] = r % 8;
  for (std::int64_t r = 1; r < n; r += 6) claimed[r] = std::get<1>(logits[r].topk(60)).select(0, 59);
  const float* d_logits = upload<float>(logits);
  ScoreConfig config;
  auto comm = comm_local();
  const std::vector<double> ascending = fused::ascending_thresholds(config);
  SamplerParams hf{0.9f, 40, 0.85f, 0.2f};
  hf.min_p_last = true;
  const Case vllm_cases[] = {{"top_k 50 top_p 0.95", {1.0f, 50, 0.95f, 0.0f}}, {"no filters", {1.0f, 0, 1.0f, 0.0f}},
                             {"top_p 0.9", {0.8f, 0, 0.9f, 0.0f}},          {"min_p 0.05", {1.1f, 0, 1.0f, 0.05f}},
                             {"greedy", {0.0f, 50, 0.9f, 0.0f}}};
  const std::uint64_t seed = 1234 + static_cast<std::uint64_t>(V);
  // vllm-cuda: rows from the device, G = -logf(E) on the device.
  {
    float *d_e = nullptr, *d_g = nullptr;
    CHECK_CUDA(cudaMalloc(&d_e, sizeof(float) * static_cast<std::size_t>(n * V)));
    CHECK_CUDA(cudaMalloc(&d_g, sizeof(float) * static_cast<std::size_t>(n * V)));
    CHECK_CUDA(noise_rows_vllm_cuda_device(seed, sm_count, 2048, V, 0, n, 0, V, d_e, nullptr));
    CHECK_CUDA(neg_log_cuda(d_e, d_g, n * V, nullptr));
    at::Tensor e = at::empty({n, V}), g = at::empty({n, V});
    CHECK_CUDA(cudaMemcpy(e.data_ptr<float>(), d_e, static_cast<std::size_t>(e.nbytes()), cudaMemcpyDeviceToHost));
    CHECK_CUDA(cudaMemcpy(g.data_ptr<float>(), d_g, static_cast<std::size_t>(g.nbytes()), cudaMemcpyDeviceToHost));
    for (const Case& c : vllm_cases) {
      at::Tensor y = claimed.clone();
      const at::Tensor served =
          sample_gumbel_rows(logits, e, c.params, VocabShard::whole(V), *comm, ServerRule::kProbOverNoise, g);
      for (std::int64_t r = 2; r < n; r += 4) y[r] = served[r];
      const std::int64_t* d_y = upload<std::int64_t>(y);
      const fused::RowParams p = fused::row_params(c.params, ServerRule::kProbOverNoise, ascending);
      FusedNoiseSource explicit_rows;
      explicit_rows.e = d_e;
      explicit_rows.g = d_g;
      explicit_rows.ld = V;
      FusedNoiseSource on_the_fly;
      on_the_fly.kind = FusedNoiseSource::Kind::kVllmCuda;
      on_the_fly.seed = seed;
      on_the_fly.sm_count = sm_count;
      const auto given = run_kernel(d_logits, n, V, d_y, explicit_rows, p);
      const auto generated = run_kernel(d_logits, n, V, d_y, on_the_fly, p);
      const ScoreBatch cpu =
          score_gumbel_rows(logits, e, y, c.params, VocabShard::whole(V), config, *comm, ServerRule::kProbOverNoise, g);
      const std::string label = "V " + std::to_string(V) + " vllm-cuda " + c.name;
      compare(label, cpu, given, y, config, V);
      compare_raw(label + " (on the fly)", given, generated);
      CHECK_CUDA(cudaFree(const_cast<std::int64_t*>(d_y)));
    }
    CHECK_CUDA(cudaFree(d_e));
    CHECK_CUDA(cudaFree(d_g));
  }
  // fssl-philox (argmax z, exactly rounded G) and hf-torch-cpu (transformers' order): CPU rows.
  struct ProfileCase {
    const char* spec;
    Case c;
  };
  const ProfileCase profile_cases[] = {{"fssl-philox", {"top_k 20 T 0.7", {0.7f, 20, 1.0f, 0.0f}}},
                                       {"fssl-philox", {"top_p 0.9", {1.0f, 0, 0.9f, 0.0f}}},
                                       {"hf-torch-cpu", {"hf order top_k 40 top_p 0.85 min_p 0.2", hf}}};
  for (const ProfileCase& pc : profile_cases) {
    const SamplerProfile profile = SamplerProfile::parse(pc.spec);
    const ProfileNoise profile_rows = profile_noise_rows(profile, seed, 1, VocabShard::whole(V), 0, n);
    const at::Tensor e = profile_rows.noise;
    const at::Tensor g = profile_rows.gumbel.defined() ? profile_rows.gumbel : e.log().neg();
    const ServerRule rule = profile.server_rule();
    at::Tensor y = claimed.clone();
    const at::Tensor served = sample_gumbel_rows(logits, e, pc.c.params, VocabShard::whole(V), *comm, rule, g);
    for (std::int64_t r = 2; r < n; r += 4) y[r] = served[r];
    FusedNoiseSource rows;
    rows.e = upload<float>(e);
    rows.g = upload<float>(g);
    rows.ld = V;
    const std::int64_t* d_y = upload<std::int64_t>(y);
    const auto given = run_kernel(d_logits, n, V, d_y, rows, fused::row_params(pc.c.params, rule, ascending));
    const ScoreBatch cpu = score_gumbel_rows(logits, e, y, pc.c.params, VocabShard::whole(V), config, *comm, rule, g);
    compare("V " + std::to_string(V) + " " + pc.spec + " " + pc.c.name, cpu, given, y, config, V);
  }
  // vllm-mrv2 and sglang: CPU rows against the kernel's own counter-based generation (prompt of 9
  // tokens, so row r is position 8 + r). The decisions must agree exactly; E = exp(-G) may differ by
  // an ulp between expf and the CPU's exp, which only the rank statistics read.
  const ProfileCase engine_cases[] = {
      {"vllm-mrv2:noise=fp32-log1p", {"top_k 50 top_p 0.95 T 0.8", {0.8f, 50, 0.95f, 0.0f}}},
      {"vllm-mrv2:noise=fp32-log-1e-7", {"T 1", {1.0f, 0, 1.0f, 0.0f}}},
      {"vllm-mrv2:noise=fp32-log-tiny", {"min_p 0.05", {1.0f, 0, 1.0f, 0.05f}}},
      {"vllm-mrv2:noise=fp64-eps20", {"T 0.7", {0.7f, 0, 1.0f, 0.0f}}},
      {"vllm-mrv2:noise=fp64", {"top_p 0.9", {1.0f, 0, 0.9f, 0.0f}}},
      {"vllm-mrv2:noise=murmur3", {"top_k 50 top_p 0.95 T 0.8", {0.8f, 50, 0.95f, 0.0f}}},
      {"vllm-mrv2:noise=murmur3-unfused", {"T 1", {1.0f, 0, 1.0f, 0.0f}}},
      {"vllm-mrv2:noise=murmur3-fp64", {"T 0.7", {0.7f, 0, 1.0f, 0.0f}}},
      {"sglang:noise=murmur3", {"T 0.9", {0.9f, 0, 1.0f, 0.0f}}},
      {"sglang:noise=murmur3-capped", {"T 1", {1.0f, 0, 1.0f, 0.0f}}}};
  for (const ProfileCase& pc : engine_cases) {
    const SamplerProfile profile = SamplerProfile::parse(pc.spec);
    const ProfileNoise profile_rows = profile_noise_rows(profile, seed, 9, VocabShard::whole(V), 0, n);
    const ServerRule rule = profile.server_rule();
    at::Tensor y = claimed.clone();
    const at::Tensor served = sample_gumbel_rows(logits, profile_rows.noise, pc.c.params, VocabShard::whole(V), *comm,
                                                 rule, profile_rows.gumbel);
    for (std::int64_t r = 2; r < n; r += 4) y[r] = served[r];
    FusedNoiseSource rows;
    rows.e = upload<float>(profile_rows.noise);
    rows.g = upload<float>(profile_rows.gumbel);
    rows.ld = V;
    FusedNoiseSource on_the_fly;
    const bool sglang = profile.kind == SamplerProfile::Kind::kSglang;
    on_the_fly.kind = sglang ? FusedNoiseSource::Kind::kSglang : FusedNoiseSource::Kind::kVllmMrv2;
    on_the_fly.variant = sglang ? static_cast<int>(profile.sglang_noise) : static_cast<int>(profile.mrv2_noise);
    on_the_fly.seed = seed;
    on_the_fly.first_position = 8;
    const std::int64_t* d_y = upload<std::int64_t>(y);
    const fused::RowParams p = fused::row_params(pc.c.params, rule, ascending);
    const auto given = run_kernel(d_logits, n, V, d_y, rows, p);
    const auto generated = run_kernel(d_logits, n, V, d_y, on_the_fly, p);
    const ScoreBatch cpu = score_gumbel_rows(logits, profile_rows.noise, y, pc.c.params, VocabShard::whole(V), config,
                                             *comm, rule, profile_rows.gumbel);
    const std::string label = "V " + std::to_string(V) + " " + pc.spec + " " + pc.c.name;
    compare(label, cpu, given, y, config, V);
    int differ = 0;  // the decision and the margin come from G alone: equal bit for bit
    for (std::size_t r = 0; r < given.size(); ++r) {
      differ += given[r].choice != generated[r].choice || given[r].margin != generated[r].margin ||
                given[r].logit_rank != generated[r].logit_rank;
    }
    failures += differ != 0;
    std::printf("%-44s %s  rows %zu, %d differ in choice or margin\n", (label + " (on the fly)").c_str(),
                differ ? "MISMATCH" : "ok      ", given.size(), differ);
  }
}

// Fused kernel throughput at the vLLM default settings and without filters, next to the CPU path.
void bench(std::int64_t V, std::int64_t n, int sm_count) {
  at::manual_seed(1);
  at::Tensor logits = at::randn({n, V}) * 2.5;
  const float* d_logits = upload<float>(logits);
  const std::int64_t* d_y = upload<std::int64_t>(at::randint(0, V, {n}, at::kLong));
  ScoreConfig config;
  for (const Case& c : {Case{"top_k 50 top_p 0.95", {1.0f, 50, 0.95f, 0.0f}}, Case{"no filters", {1.0f, 0, 1.0f, 0.0f}},
                        Case{"top_p 0.9", {1.0f, 0, 0.9f, 0.0f}}}) {
    FusedNoiseSource noise;
    noise.kind = FusedNoiseSource::Kind::kVllmCuda;
    noise.seed = 7;
    noise.sm_count = sm_count;
    const fused::RowParams p = fused::row_params(c.params, ServerRule::kProbOverNoise, fused::ascending_thresholds(config));
    run_kernel(d_logits, n, V, d_y, noise, p);  // warm-up
    cudaEvent_t start, stop;
    CHECK_CUDA(cudaEventCreate(&start));
    CHECK_CUDA(cudaEventCreate(&stop));
    fused::RowResult* results = nullptr;
    CHECK_CUDA(cudaMalloc(&results, sizeof(fused::RowResult) * static_cast<std::size_t>(n)));
    float best = 1e30f;
    for (int rep = 0; rep < 3; ++rep) {
      CHECK_CUDA(cudaEventRecord(start));
      CHECK_CUDA(score_rows_cuda(d_logits, V, n, V, d_y, noise, p, results, nullptr));
      CHECK_CUDA(cudaEventRecord(stop));
      CHECK_CUDA(cudaEventSynchronize(stop));
      float ms = 0;
      CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
      best = std::min(best, ms);
    }
    std::printf("bench fused V %lld %-22s %lld rows in %.3f ms: %.0f scored tok/s (%.2f us per row, %.0f GB/s of logits "
                "per pass)\n",
                static_cast<long long>(V), c.name, static_cast<long long>(n), best, n / (best / 1e3), 1e3 * best / n,
                static_cast<double>(n * V * 4) / (best / 1e3) / 1e9);
    CHECK_CUDA(cudaFree(results));
  }
}

std::vector<std::int64_t> parse_list(const char* s) {
  std::vector<std::int64_t> out;
  for (const char* p = s; *p;) {
    out.push_back(std::strtoll(p, const_cast<char**>(&p), 10));
    if (*p == ',') ++p;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t rows = 32, bench_rows = 4096;
  std::vector<std::int64_t> vocab = {32000, 128256, 151936, 262144};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--rows") rows = std::atoll(argv[i + 1]);
    else if (flag == "--bench-rows") bench_rows = std::atoll(argv[i + 1]);
    else if (flag == "--vocab") vocab = parse_list(argv[i + 1]);
  }
  int n_devices = 0;
  if (cudaGetDeviceCount(&n_devices) != cudaSuccess || n_devices == 0) {
    std::printf("SKIP: no usable CUDA device\n");
    return 0;
  }
  cudaDeviceProp prop{};
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::printf("# fused scorer vs CPU reference on %s (%d SMs)\n", prop.name, prop.multiProcessorCount);
  at::set_num_threads(8);
  try {
    for (std::int64_t V : vocab) check_vocab(V, rows, prop.multiProcessorCount);
    if (bench_rows > 0) bench(128256, bench_rows, prop.multiProcessorCount);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "score_cuda_check: %s\n", e.what());
    return 2;
  }
  std::printf("# %s (%d case failures)\n", failures == 0 ? "all equal" : "MISMATCHES", failures);
  return failures == 0 ? 0 : 1;
}
