// Reproduction of the randomness sampler profiles consume, in fssl's own code (never the linked
// libtorch's generators, whose algorithms change between versions). One function per engine;
// docs/sampler-spec.md and verification-math.md §11 give the algorithms, tests/noise_test.cpp
// pins them to independent golden data (Random123 known-answer vectors, ATen's PhiloxRNGEngine.h,
// real PyTorch, a std::mt19937 program following llama.cpp, the Python fssl-philox reference).
//
// Gumbel-max profiles get Exp(1) rows E (float32, E > 0), sliced by vocabulary so that each
// tensor-parallel rank generates only its columns: out[r * n_cols + c] is element
// vocab_begin + c of noise row first_row + r (row j = the j-th emitted token of the message,
// 0-based). The Gumbel noise is G = -ln E. Inverse-CDF profiles get a stream of uniforms.
// Thread safety: functions are pure; stream objects are single-threaded values.
//
// Common REQUIRES (else ReplayError): first_row >= 0, n_rows >= 0, vocab_begin >= 0, n_cols >= 0,
// vocab_begin + n_cols <= vocab_size where a vocab_size is given; out holds n_rows * n_cols floats
// ([n_rows, n_cols] float32, row-major, the rank's vocabulary shard).
#pragma once

#include <array>
#include <cstdint>
#include <random>

namespace fssl {

// Philox4x32-10 (Salmon et al. 2011; Random123, cuRAND and ATen use the same rounds):
// 10 rounds of the Philox S-box on a 128-bit counter under a 64-bit key. Random123 kat_vectors:
// counter {0,0,0,0}, key {0,0} -> {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}.
// cuRAND's curand_init(seed, subsequence, offset) and at::philox_engine(seed, subsequence, offset')
// use key = {seed lo, seed hi}, counter = {n lo, n hi, subsequence lo, subsequence hi}, where
// n = offset / 4 for cuRAND (offset counts 32-bit outputs) and n = offset' for ATen (128-bit blocks).
std::array<std::uint32_t, 4> philox4x32_10(const std::array<std::uint32_t, 4>& counter,
                                           const std::array<std::uint32_t, 2>& key);

// E of PyTorch's CUDA exponential_ (lambda 1) for a curand_uniform value u in (0, 1]: 2^-24 at or
// above 1 - 2^-24, else -__logf(u). Bit-exact (the H100's own values, tests/data/noise/
// logf_near_one_h100.f32) for u >= 1 - 2^-12, where E < 2.5e-4 and the hardware log's absolute
// error would dominate; below, a correctly rounded log2 within 2.1e-4 relative of the device's E for
// every 32-bit word (measured on an H100 by tests/gpu/lg2_model_bound.cu).
float noise_exponential_vllm_cuda(float u);

// vllm-cuda: a per-request torch CUDA generator seeded with `seed`, one float32
// `exponential_` row of width V per emitted token, PyTorch's grid-stride kernel with block 256
// and grid = min(ceil(V / 256), sm_count * (max_threads_per_sm / 256)); each thread runs Philox
// with (seed, subsequence = thread index, offset) and fills 4 elements per curand_uniform4.
// The generator offset advances by 4 * ceil(V / (4 * 256 * grid)) per row.
// Element i of row j: S = 256 * grid, q = i / S, n = j * ceil(V / (4 S)) + q / 4 (64-bit), word q % 4 of
//   philox4x32_10({n lo, n hi, i % S, 0}, {seed lo, seed hi}),
// u = float(word) * 2^-32 + 2^-33 in float32 (curand_uniform), E = noise_exponential_vllm_cuda(u).
// The uniforms are bit-exact; E is exact where a captured device table applies and otherwise models
// the GPU's lg2.approx (docs/sampler-spec.md, "vllm-cuda", known limits). On a GPU,
// noise_rows_vllm_cuda_device (noise_cuda.h) gives torch's bits everywhere.
// REQUIRES: sm_count >= 1, max_threads_per_sm >= 256, vocab_size >= 1.
void noise_rows_vllm_cuda(std::uint64_t seed, std::int64_t sm_count, std::int64_t max_threads_per_sm,
                          std::int64_t vocab_size, std::int64_t first_row, std::int64_t n_rows,
                          std::int64_t vocab_begin, std::int64_t n_cols, float* out);

// fssl-philox: stateless counter-based noise, E(seed, row, token) (docs/sampler-spec.md):
// independent of batch composition, device, vocabulary padding and library versions. One
// implementation, contrib/fssl_philox/fssl_philox.h; fssl_philox.py is the Python reference:
//   fssl_philox.exp1_row(42, 0, 0, 4) == [0.0012593730352818966, 1.0816794633865356,
//                                         0.061637938022613525, 0.37162521481513977]
void noise_rows_fssl_philox(std::uint64_t seed, std::int64_t first_row, std::int64_t n_rows,
                            std::int64_t vocab_begin, std::int64_t n_cols, float* out);

// fssl-philox's Gumbel noise G = RN32(-ln E) for an E from noise_rows_fssl_philox (correctly
// rounded, so every implementation agrees bit for bit); the sampling rule uses G, not E.
float noise_gumbel_fssl_philox(float exp1);

// hf-torch-cpu: torch's global CPU mt19937 generator after torch.manual_seed(seed); row b of a
// batch of `batch_size` rows at decode step t starts at stream position (t * batch_size + b) * V
// (one double-precision uniform per element), when nothing else consumed randomness.
// Seeding uses the low 32 bits of seed (at::mt19937 init_with_uint32). Cost: O(position) engine
// steps, since mt19937 has no cheap skip-ahead. Reference (torch 2.15 and 1.13):
//   torch.manual_seed(42); torch.empty(3).exponential_() -> [0.0599140, 0.0649761, 0.1319168]
// REQUIRES: batch_size >= 1, 0 <= batch_row < batch_size, vocab_size >= 1.
void noise_rows_hf_torch_cpu(std::uint64_t seed, std::int64_t batch_size, std::int64_t batch_row,
                             std::int64_t vocab_size, std::int64_t first_row, std::int64_t n_rows,
                             std::int64_t vocab_begin, std::int64_t n_cols, float* out);

// llamacpp-dist: llama.cpp's dist sampler stream: std::mt19937 seeded with the (effective) seed,
// one uniform_real_distribution<double>(0, 1) draw per step with more than one candidate.
// next() computes the draw as libstdc++'s generate_canonical<double, 53> does (two engine
// outputs g1, g2: RN64(g1 + g2 * 2^32) * 2^-64, a result of 1 replaced by the largest double
// below 1), so fssl gives llama.cpp-on-Linux draws whatever standard library fssl is built with.
class LlamacppUniformStream {
 public:
  explicit LlamacppUniformStream(std::uint32_t seed);
  double next();

 private:
  std::mt19937 engine_;  // the engine itself is fixed by the C++ standard (10000th output 4123659995)
};

// Triton's tl.randint4x / tl.randint / tl.rand for one element (python/triton/language/random.py,
// checked against Triton 3.9's own kernels): Philox4x32-10 with counter {offset lo, offset hi, 0, 0}
// and key {seed lo, seed hi}; randint is output 0; rand maps it by uint_to_uniform_float (int32
// bitcast, x < 0 -> ~x, float32(x) * 4.6566127342e-10f), a float32 in [0, 1). `seed` is the
// kernel's seed as uint64 (a negative int64 seed is its two's complement; a uint32 seed from an
// earlier randint is zero-extended). The noise of vLLM's Model Runner V2 sampler is built from these.
std::array<std::uint32_t, 4> triton_randint4x(std::uint64_t seed, std::uint64_t offset);
std::uint32_t triton_randint(std::uint64_t seed, std::uint64_t offset);
float triton_uint_to_uniform_float(std::uint32_t x);
float triton_rand(std::uint64_t seed, std::uint64_t offset);

// tl_rand64 of vLLM's fp64 Gumbel path: words 0 (low) and 1 (high) of triton_randint4x(seed, offset)
// as a uint64 r, float64(r) * 2^-64 (round to nearest), at least DBL_MIN: a float64 in (0, 1].
double triton_rand64_open(std::uint64_t seed, std::uint64_t offset);

// The GPU's float32 natural log and log1p as Triton kernels compute them: libdevice's __nv_logf and
// __nv_log1pf (tl.log and libdevice.log1p lower to these, FTZ on; not to lg2.approx), reproduced
// operation by operation, so bit for bit on every float32 input (tests/data/noise/
// libdevice_log_golden.txt, from the libdevice bitcode itself run on the CPU).
float libdevice_logf(float x);
float libdevice_log1pf(float x);

// vLLM Model Runner V2's Gumbel noise G (docs/sampler-spec.md §7), one variant per formula vLLM
// shipped. Column i of the row sampled at position p (the 0-based position of the last input token:
// P + j - 1 for output token j of a P-token prompt). The Philox variants draw a row seed
// s = triton_randint(seed, p) and u from Philox(s, i):
//   kFp64Eps20   G = RN32(-log(-log(u + 1e-20) + 1e-20)) in float64, u = tl.rand   (early V2)
//   kFp32Log1e7  G = -logf(-logf(max(u, 1e-7)))                     (vllm#34854)
//   kFp32LogTiny G = -logf(-logf(max(u, 2^-126)))                   (vllm#41775)
//   kFp32Log1p   G = -logf(-log1pf(-max(u, 4.6566127342e-10)))      (vllm#45996)
//   kFp64Rand64  G = -log(-log(triton_rand64_open(s, i))) in float64 (vllm#37798, --use-fp64-gumbel)
// The Murmur3 variants (vllm#51367) hash (seed, p, i) directly (murmur3_key_hash, domain 0):
//   kMurmur3        G = -logf(-L(u)), u = vllm_murmur3_uniform(hash), L = vllm_murmur3_log1m (the
//                   degree-8 series in fused multiply-adds: Triton's default FP fusion, up to 3.9)
//   kMurmur3Unfused the same with the series' multiplies and adds rounded separately (Triton >= 3.10
//                   or TRITON_DEFAULT_FP_FUSION=0)
//   kMurmur3Fp64    G = -log(-log(vllm_murmur3_uniform64(hash, hash of domain 0x9E3779B9))) in float64
// with logf/log1pf the libdevice functions above (bit-exact) and float64 log from the C library
// (within 1 ulp of libdevice's __nv_log). Rows are float32 except the float64 variants
// (vllm_mrv2_fp64). The server adds G to RN32(l / T) (in float64 for those) and takes the first maximum.
enum class VllmMrv2Noise {
  kFp64Eps20,
  kFp32Log1e7,
  kFp32LogTiny,
  kFp32Log1p,
  kFp64Rand64,
  kMurmur3,
  kMurmur3Unfused,
  kMurmur3Fp64
};
inline bool vllm_mrv2_fp64(VllmMrv2Noise v) { return v == VllmMrv2Noise::kFp64Rand64 || v == VllmMrv2Noise::kMurmur3Fp64; }
void noise_rows_vllm_mrv2(VllmMrv2Noise variant, std::uint64_t seed, std::int64_t first_position, std::int64_t n_rows,
                          std::int64_t vocab_begin, std::int64_t n_cols, float* out);
void noise_rows_vllm_mrv2_fp64(VllmMrv2Noise variant, std::uint64_t seed, std::int64_t first_position,
                               std::int64_t n_rows, std::int64_t vocab_begin, std::int64_t n_cols, double* out);

// The counter-based hash of SGLang's seeded sampler and of vLLM's Murmur3 noise: MurmurHash3_x86_32
// with hash seed `domain` of the 16 bytes [seed lo, seed hi, position lo, column] (little-endian
// words; only the low 32 bits of the position enter). mmh3.hash(struct.pack("<IIII", ...), domain,
// signed=False) in Python gives the same; sglang#25106's vector: domain 0, (7847, 12345, 1208) ->
// 0xffffffff.
std::uint32_t murmur3_key_hash(std::uint32_t domain, std::uint64_t seed, std::uint64_t position, std::uint32_t column);

// vLLM's Murmur3 uniforms (vllm#51367, murmur3_uniform32 / murmur3_uniform64):
//   float32: RN32((h + 0.5) * 2^-32), from two exact 16-bit conversions (so 1.0 for h >= 2^32 - 128);
//   float64: RN64(r + 0.5) * 2^-53 for the 53 bits r = ((hi << 32) | lo) >> 11, with 1.0 moved to
//            1 - 2^-53 (the open interval (0, 1)).
float vllm_murmur3_uniform(std::uint32_t hash);
double vllm_murmur3_uniform64(std::uint32_t lo, std::uint32_t hi);
// L = log(1 - u) as vLLM's _log1p_neg_stable computes it in float32: for u < 0.25 the series
// -u (1 + u/2 + ... + u^7/8) by Horner's rule from 1/8 with float32 coefficients RN32(1/k), each
// step one fused multiply-add (fused) or a multiply and an add (unfused), times -u; otherwise
// logf(max(1 - u, 2^-24)). G = -logf(-L) is the variant's noise.
float vllm_murmur3_log1m(float u, bool fused);
float vllm_murmur3_gumbel(float u, bool fused);

// SGLang's seeded sampler (--enable-deterministic-inference, docs/sampler-spec.md §8): the hash of
// (seed, position, column) is murmur3_key_hash with domain 0.
// G of one hash, in float64 as multinomial_with_seed computes it: u = hash / (2^32 - 1),
// t = max(log u, -DBL_MAX), G = -log(-t); kMurmur3Capped also caps t at -2^-32 (sglang#33423), so
// hash 0xffffffff gives 32 ln 2 instead of +inf.
enum class SglangNoise { kMurmur3, kMurmur3Capped };
double sglang_gumbel(SglangNoise variant, std::uint32_t hash);

// Rows of G rounded to float32 (the uncapped +inf stored as 1e30, which still wins), column c = token vocab_begin + c,
// row r at position first_position + r (the 0-based position of the last input token, P + j - 1 for output token j).
// The server adds G to log pi in float64; fssl decides in float32 (spec §8, known limits).
void noise_rows_sglang(SglangNoise variant, std::uint64_t seed, std::int64_t first_position, std::int64_t n_rows,
                       std::int64_t vocab_begin, std::int64_t n_cols, float* out);
// The same noise keyed per element: out[r * n_cols + c] is G of column key keys[r * n_cols + c] in
// [0, 2^32) at position first_position + r. SGLang's top-k / top-p path keys by sort rank.
void noise_rows_sglang_keyed(SglangNoise variant, std::uint64_t seed, std::int64_t first_position, std::int64_t n_rows,
                             std::int64_t n_cols, const std::int64_t* keys, float* out);

}  // namespace fssl
