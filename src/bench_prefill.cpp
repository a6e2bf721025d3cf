// `fssl bench prefill`: packed-prefill throughput and MFU against a matmul peak measured in the
// same run with the same thread count (bench.h).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>

#include "fssl/bench.h"
#include "fssl/comm.h"
#include "fssl/model.h"

namespace fssl {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_of(const std::function<void()>& f) {
  const auto start = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The best rate of square products (n = 1024 and 2048) in the compute dtype, 2n^3 / t: the
// machine's practical matmul peak with this thread count, the denominator of MFU.
double matmul_peak_gflops(at::ScalarType dtype) {
  double peak = 0;
  for (std::int64_t n : {1024, 2048}) {
    at::Tensor a = at::randn({n, n}).to(dtype), b = at::randn({n, n}).to(dtype);
    at::mm(a, b);  // warm-up: thread pool, allocator, kernel selection
    double best = 1e30;
    for (int i = 0; i < 5; ++i) best = std::min(best, seconds_of([&] { at::mm(a, b); }));
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

void bench_prefill(const PrefillBenchOptions& o) {
  const at::ScalarType dtype = o.dtype == "bf16" ? at::kBFloat16 : at::kFloat;
  std::unique_ptr<Communicator> comm = comm_local();
  ModelOptions options;
  options.compute_dtype = dtype;
  Model model = Model::load(o.model_dir, *comm, options);
  const ModelConfig& c = model.config();
  std::vector<Segment> segments;
  std::int64_t T = 0;
  for (std::int64_t s = 0; s < o.n_sequences; ++s) {
    const std::int64_t length = o.fixed_length ? o.sequence_length : bench_sequence_length(s, o.sequence_length);
    segments.push_back({T, length, nullptr});
    T += length;
  }
  at::Tensor tokens = at::empty({T}, at::kLong);
  for (std::int64_t i = 0; i < T; ++i) tokens[i] = bench_token_id(i, c.vocab_size);
  const double flop = 2.0 * matmul_parameters(c) * static_cast<double>(T);
  if (!o.json) {
    std::printf("# fssl bench prefill: %s (%s, %lld layers, hidden %lld, V %lld), %lld sequences, %lld tokens "
                "(%s), packed, logits at every position, %s, TP 1\n",
                o.model_dir.c_str(), c.architecture.c_str(), static_cast<long long>(c.n_layers),
                static_cast<long long>(c.hidden_size), static_cast<long long>(c.vocab_size),
                static_cast<long long>(o.n_sequences), static_cast<long long>(T),
                o.fixed_length ? "fixed length" : "lengths 32..max", o.dtype.c_str());
    std::printf("# %8s %12s %12s %16s %8s\n", "threads", "tokens/s", "GFLOP/s", "matmul GFLOP/s", "MFU");
  }
  for (int threads : o.threads) {
    at::set_num_threads(threads);
    const double peak = matmul_peak_gflops(dtype);
    auto pass = [&] {
      at::NoGradGuard no_grad;
      at::Tensor hidden = model.forward_hidden(tokens, segments);
      for (std::int64_t row = 0; row < T; row += 256) model.logits_shard(hidden.narrow(0, row, std::min<std::int64_t>(256, T - row)));
    };
    pass();  // warm-up
    double best = 1e30;
    for (int r = 0; r < o.repeats; ++r) best = std::min(best, seconds_of(pass));
    const double gflops = flop / best / 1e9;
    if (o.json) {
      std::printf("{\"threads\": %d, \"tokens_per_s\": %.1f, \"gflops\": %.2f, \"matmul_peak_gflops\": %.2f, "
                  "\"mfu\": %.4f, \"tokens\": %lld, \"seconds\": %.6f}\n",
                  threads, static_cast<double>(T) / best, gflops, peak, gflops / peak, static_cast<long long>(T), best);
    } else {
      std::printf("  %8d %12.1f %12.2f %16.2f %7.1f%%\n", threads, static_cast<double>(T) / best, gflops, peak,
                  100.0 * gflops / peak);
    }
  }
}

}  // namespace fssl
