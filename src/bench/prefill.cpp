// `fssl bench prefill`: packed-prefill throughput and MFU against a matmul peak measured in the
// same run, on the CPU per thread count or on one GPU (bench.h).
#include <fmt/format.h>
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <chrono>
#include <cstdio>
#include <functional>

#include "fssl/bench.h"
#include "fssl/comm.h"
#include "fssl/gpu.h"
#include "fssl/model.h"
#include "fssl/sampler_profile.h"
#include "fssl/scoring_device.h"

namespace fssl {
namespace {

using Clock = std::chrono::steady_clock;

// Wall time of f(), the device drained before and after (CUDA kernels run asynchronously).
double seconds_of(at::Device device, const std::function<void()>& f) {
  gpu_synchronize(device);
  const auto start = Clock::now();
  f();
  gpu_synchronize(device);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The best rate of square products, 2n^3 / t in GFLOP/s: the practical matmul peak, the
// denominator of MFU. CPU: n = 1024 and 2048 in the compute dtype with the current threads.
// CUDA: bf16 n = 8192 (the GEMM peak docs/performance.md quotes), whatever the compute dtype.
double matmul_peak_gflops(at::ScalarType dtype, at::Device device) {
  const bool cuda = device.is_cuda();
  const std::vector<std::int64_t> sizes = cuda ? std::vector<std::int64_t>{8192} : std::vector<std::int64_t>{1024, 2048};
  const at::ScalarType type = cuda ? at::kBFloat16 : dtype;
  double peak = 0;
  for (std::int64_t n : sizes) {
    at::Tensor a = at::randn({n, n}, at::TensorOptions().device(device)).to(type);
    at::Tensor b = at::randn({n, n}, at::TensorOptions().device(device)).to(type);
    for (int i = 0; i < (cuda ? 3 : 1); ++i) at::mm(a, b);  // warm-up: threads, allocator, kernel choice, clocks
    double best = 1e30;
    for (int i = 0; i < 5; ++i) best = std::min(best, seconds_of(device, [&] { at::mm(a, b); }));
    peak = std::max(peak, 2.0 * static_cast<double>(n * n * n) / best / 1e9);
  }
  return peak;
}

// Parameters that go through a matmul per token: every projection and the LM head.
double matmul_parameters(const ModelConfig& c) {
  const double q = static_cast<double>(c.n_heads * c.head_dim), kv = static_cast<double>(c.n_kv_heads * c.head_dim);
  const double hid = static_cast<double>(c.hidden_size), inter = static_cast<double>(c.intermediate_size);
  const double per_layer = hid * (q + 2 * kv) + q * hid + 3 * hid * inter;
  return static_cast<double>(c.n_layers) * per_layer + static_cast<double>(c.vocab_size) * hid;
}

at::ScalarType compute_dtype(const std::string& name) {
  if (name == "bf16") return at::kBFloat16;
  if (name == "f16") return at::kHalf;
  return at::kFloat;
}

// Rows per logits_shard call, as replay/verify.cpp's kLogitRowsPerChunk: the audit's memory bound.
constexpr std::int64_t kLogitRows = 256;

}  // namespace

std::int64_t bench_token_id(std::int64_t i, std::int64_t vocab_size) {
  return static_cast<std::int64_t>((static_cast<std::uint64_t>(i) * 2654435761ull + 12345ull) %
                                   static_cast<std::uint64_t>(vocab_size));
}

std::int64_t bench_sequence_length(std::int64_t s, std::int64_t max_length) {
  if (max_length <= 32) return max_length;
  const std::uint64_t h = (static_cast<std::uint64_t>(s) * 2654435761ull + 7ull) % (1ull << 32);
  return 32 + static_cast<std::int64_t>(h % static_cast<std::uint64_t>(max_length - 31));
}

namespace {

// The packed batch a prefill benchmark replays, and the passes it times.
struct PrefillRun {
  const PrefillBenchOptions& o;
  Model& model;
  at::Device device;
  std::vector<Segment> segments;
  at::Tensor tokens;  // [T] int64 on `device`
  std::int64_t T = 0, n_sequences = 0;
  bool fixed = false;
  double flop = 0.0;  // matmul FLOPs of one pass

  at::Tensor hidden_pass() { return model.forward_hidden(tokens, segments); }
  // Prefill and the logits of every position, in chunks (what verification computes).
  void pass() {
    at::Tensor hidden = hidden_pass();
    for (std::int64_t row = 0; row < T; row += kLogitRows) {
      model.logits_shard(hidden.narrow(0, row, std::min<std::int64_t>(kLogitRows, T - row)));
    }
  }
  // Best of o.repeats after a warm-up.
  double best_of(const std::function<void()>& f) {
    f();
    double best = 1e30;
    for (int r = 0; r < o.repeats; ++r) best = std::min(best, seconds_of(device, f));
    return best;
  }
};

// The default workload: the CPU's mixed lengths, or the GPU anchor's 4 x 2,048 equal lengths.
void prefill_workload(PrefillRun& run) {
  const PrefillBenchOptions& o = run.o;
  const bool cuda = run.device.is_cuda();
  const ModelConfig& c = run.model.config();
  run.n_sequences = o.n_sequences > 0 ? o.n_sequences : (cuda ? 4 : 8);
  const std::int64_t max_length = o.sequence_length > 0 ? o.sequence_length : (cuda ? 2048 : 512);
  run.fixed = o.fixed_length || (cuda && o.sequence_length == 0);
  for (std::int64_t s = 0; s < run.n_sequences; ++s) {
    const std::int64_t length = run.fixed ? max_length : bench_sequence_length(s, max_length);
    run.segments.push_back({run.T, length, nullptr});
    run.T += length;
  }
  at::Tensor tokens = at::empty({run.T}, at::kLong);
  for (std::int64_t i = 0; i < run.T; ++i) tokens[i] = bench_token_id(i, c.vocab_size);
  run.tokens = tokens.to(run.device);
  run.flop = 2.0 * matmul_parameters(c) * static_cast<double>(run.T);
}

// Verified: every chunk also scored on the device by the fused kernels (vllm-cuda noise,
// vLLM's default filters), each row against the batch's next token: the audit's GPU work.
// -1 when the fused kernels are not built.
double verified_seconds(PrefillRun& run) {
  if (!fused_device_scoring_built()) return -1.0;
  const SamplerProfile profile = SamplerProfile::parse("vllm-cuda:sm_count=132");
  const SamplerParams params{1.0f, 50, 0.95f, 0.0f};
  const ScoreConfig score_config;
  at::Tensor next = at::empty({run.T}, at::kLong);
  for (std::int64_t i = 0; i < run.T; ++i) next[i] = bench_token_id(i + 1, run.model.config().vocab_size);
  return run.best_of([&] {
    at::Tensor hidden = run.hidden_pass();
    for (std::int64_t row = 0; row < run.T; row += kLogitRows) {
      const std::int64_t n = std::min<std::int64_t>(kLogitRows, run.T - row);
      score_gumbel_rows_device(run.model.logits_shard(hidden.narrow(0, row, n)), next.narrow(0, row, n), profile,
                               run.o.seed, 1, row, params, score_config);
    }
  });
}

void bench_prefill_gpu(PrefillRun& run, const std::string& source, at::ScalarType dtype) {
  const PrefillBenchOptions& o = run.o;
  const at::Device device = run.device;
  const double T = static_cast<double>(run.T);
  const double peak = matmul_peak_gflops(dtype, device) / 1e3;
  gpu_reset_peak_memory(device);
  const double best = run.best_of([&] { run.pass(); });
  const std::int64_t peak_bytes = gpu_peak_memory_bytes(device);
  const double hidden_best = run.best_of([&] { run.hidden_pass(); });
  const double verified_best = verified_seconds(run);
  const double verified_tok_s = verified_best > 0 ? T / verified_best : -1.0;
  const double tflops = run.flop / best / 1e12;
  const double peak_gib = peak_bytes < 0 ? -1.0 : static_cast<double>(peak_bytes) / (1024.0 * 1024.0 * 1024.0);
  if (o.json) {
    fmt::print("{{\"device\": \"{}\", \"gpu\": \"{}\", \"model\": \"{}\", \"dtype\": \"{}\", "
               "\"sequences\": {}, \"tokens\": {}, \"seconds\": {:.6f}, \"tokens_per_s\": {:.1f}, "
               "\"tokens_per_s_hidden_only\": {:.1f}, \"tflops\": {:.2f}, \"matmul_peak_tflops\": {:.2f}, "
               "\"mfu\": {:.4f}, \"peak_mem_gib\": {:.2f}, \"verified_tokens_per_s\": {:.1f}, \"verified_mfu\": {:.4f}}}\n",
               device.str(), device_describe(device), source, o.dtype, run.n_sequences, run.T, best, T / best,
               T / hidden_best, tflops, peak, tflops / peak, peak_gib, verified_tok_s,
               verified_best > 0 ? run.flop / verified_best / 1e12 / peak : -1.0);
  } else {
    fmt::print("# {:>12} {:>14} {:>10} {:>18} {:>8} {:>14} {:>16}\n", "tokens/s", "hidden tok/s", "TFLOP/s",
               "bf16 mm TFLOP/s", "MFU", "peak mem GiB", "verified tok/s");
    fmt::print("  {:12.1f} {:14.1f} {:10.2f} {:18.2f} {:7.1f}% {:14.2f} {:16.1f}\n", T / best, T / hidden_best, tflops,
               peak, 100.0 * tflops / peak, peak_gib, verified_tok_s);
  }
}

void bench_prefill_cpu(PrefillRun& run, at::ScalarType dtype) {
  const PrefillBenchOptions& o = run.o;
  const double T = static_cast<double>(run.T);
  if (!o.json) fmt::print("# {:>8} {:>12} {:>12} {:>16} {:>8}\n", "threads", "tokens/s", "GFLOP/s", "matmul GFLOP/s", "MFU");
  for (int threads : o.threads) {
    at::set_num_threads(threads);
    const double peak = matmul_peak_gflops(dtype, run.device);
    const double best = run.best_of([&] { run.pass(); });
    const double gflops = run.flop / best / 1e9;
    if (o.json) {
      fmt::print("{{\"threads\": {}, \"tokens_per_s\": {:.1f}, \"gflops\": {:.2f}, \"matmul_peak_gflops\": {:.2f}, "
                 "\"mfu\": {:.4f}, \"tokens\": {}, \"seconds\": {:.6f}}}\n",
                 threads, T / best, gflops, peak, gflops / peak, run.T, best);
    } else {
      fmt::print("  {:8} {:12.1f} {:12.2f} {:16.2f} {:7.1f}%\n", threads, T / best, gflops, peak, 100.0 * gflops / peak);
    }
  }
}

}  // namespace

void bench_prefill(const PrefillBenchOptions& o) {
  at::Device device = device_parse(o.device);
  if (device.is_cuda()) device = bind_local_gpu(device.has_index() ? device.index() : local_rank_hint());
  std::unique_ptr<Communicator> comm = comm_local();
  ModelOptions options;
  options.device = device;
  options.compute_dtype = compute_dtype(o.dtype);
  Model model = o.shape.empty() ? Model::load(o.model_dir, *comm, options)
                                : Model::random(model_shape(o.shape), *comm, options, o.seed);
  PrefillRun run{o, model, device, {}, {}};
  prefill_workload(run);
  const ModelConfig& c = model.config();
  const std::string source = o.shape.empty() ? o.model_dir : "random " + o.shape;
  if (!o.json) {
    fmt::print("# fssl bench prefill: {} ({}, {} layers, hidden {}, V {}), {} sequences, {} tokens ({}), packed, "
               "logits at every position in chunks of {} rows, {} on {}, TP 1\n",
               source, c.architecture, c.n_layers, c.hidden_size, c.vocab_size, run.n_sequences, run.T,
               run.fixed ? "fixed length" : "lengths 32..max", kLogitRows, o.dtype, device_describe(device));
  }
  c10::NoGradGuard no_grad;
  if (device.is_cuda()) {
    bench_prefill_gpu(run, source, options.compute_dtype);
  } else {
    bench_prefill_cpu(run, options.compute_dtype);
  }
}

}  // namespace fssl
