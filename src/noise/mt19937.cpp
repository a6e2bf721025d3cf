// mt19937-based noise (noise.h): hf-torch-cpu, PyTorch's global CPU generator feeding
// torch.multinomial's exponential_ rows, and the llamacpp-dist uniform stream.
#include <cmath>

#include "fssl/error.h"
#include "fssl/noise.h"

namespace fssl {
namespace {

// One torch CPU double uniform: CPUGeneratorImpl::random64() = (first << 32) | second, then
// transformation::uniform_real<double> keeps the low 53 bits and scales by 2^-53: u in [0, 1).
double torch_cpu_uniform_double(std::mt19937& engine) {
  const std::uint64_t hi = engine();
  const std::uint64_t lo = engine();
  const std::uint64_t bits = ((hi << 32) | lo) & ((std::uint64_t{1} << 53) - 1);
  return static_cast<double>(bits) * 0x1p-53;
}

// exponential_ on a CPU float tensor: cpu_serial_kernel with exponential_distribution<double>, whose
// transform is -1 / lambda * log1p(-u) in double (torch >= 2.1; 1.13 wrote log(1 - u), the same
// value since 1 - u is exact), rounded once to float. u = 0 gives +0.
float torch_cpu_exponential(double u) {
  return static_cast<float>(-std::log1p(-u));
}

// Skips n double uniforms (2n engine outputs). std::mt19937::discard is the standard's O(n) loop.
void skip_uniforms(std::mt19937& engine, std::uint64_t n) {
  engine.discard(2 * n);
}

}  // namespace

void noise_rows_hf_torch_cpu(std::uint64_t seed, std::int64_t batch_size, std::int64_t batch_row,
                             std::int64_t vocab_size, std::int64_t first_row, std::int64_t n_rows,
                             std::int64_t vocab_begin, std::int64_t n_cols, float* out) {
  FSSL_CHECK(batch_size >= 1 && batch_row >= 0 && batch_row < batch_size, ReplayError,
             "hf-torch-cpu: batch_row {} outside a batch of {}", batch_row, batch_size);
  FSSL_CHECK(first_row >= 0 && n_rows >= 0 && vocab_begin >= 0 && n_cols >= 0, ReplayError,
             "hf-torch-cpu: bad slice rows [{}, +{}) columns [{}, +{})", first_row, n_rows, vocab_begin, n_cols);
  FSSL_CHECK(vocab_size >= 1 && vocab_begin + n_cols <= vocab_size, ReplayError,
             "hf-torch-cpu: columns [{}, {}) outside the vocabulary of {}", vocab_begin, vocab_begin + n_cols,
             vocab_size);
  FSSL_CHECK(out != nullptr || n_rows * n_cols == 0, ReplayError, "hf-torch-cpu: null output");
  if (n_rows == 0 || n_cols == 0) return;

  // at::mt19937 (MT19937RNGEngine.h) seeds with init_with_uint32(seed & 0xffffffff): the standard
  // mt19937 initialisation, so std::mt19937 produces the same outputs.
  std::mt19937 engine(static_cast<std::uint32_t>(seed));
  const auto b = static_cast<std::uint64_t>(batch_size);
  const auto v = static_cast<std::uint64_t>(vocab_size);
  // multinomial draws one [batch_size, V] exponential_ per step, serially in row-major order.
  std::uint64_t position = (static_cast<std::uint64_t>(first_row) * b + static_cast<std::uint64_t>(batch_row)) * v +
                           static_cast<std::uint64_t>(vocab_begin);
  skip_uniforms(engine, position);
  for (std::int64_t r = 0; r < n_rows; ++r) {
    if (r > 0) {
      const std::uint64_t next = position + b * v;  // same column, next step
      skip_uniforms(engine, next - (position + static_cast<std::uint64_t>(n_cols)));
      position = next;
    }
    float* dst = out + r * n_cols;
    for (std::int64_t c = 0; c < n_cols; ++c) dst[c] = torch_cpu_exponential(torch_cpu_uniform_double(engine));
  }
}

LlamacppUniformStream::LlamacppUniformStream(std::uint32_t seed) : engine_(seed) {}

// libstdc++ generate_canonical<double, 53> on a 32-bit engine (bits/random.tcc): k = 2 draws summed
// in double as g1 + g2 * 2^32 (one rounding to 53 bits), divided by 2^64 (exact); since GCC 7 a
// result rounding up to 1 is replaced by nextafter(1, 0) (LWG 2524). uniform_real_distribution(0, 1)
// then returns r * (1 - 0) + 0 = r.
double LlamacppUniformStream::next() {
  const double g1 = static_cast<double>(engine_());
  const double g2 = static_cast<double>(engine_());
  const double r = (g1 + g2 * 0x1p32) * 0x1p-64;
  return r < 1.0 ? r : std::nextafter(1.0, 0.0);
}

}  // namespace fssl
