// The fused scorer's CUDA executor (fssl/scoring_cuda.h): scoring/fused_row.h run by a 512-thread block per row.
// Reductions combine per-thread partials through warp shuffles and one shared slot per warp in a
// fixed order, so a row's result is the same on every run; histograms and candidate lists use
// shared-memory atomics, and the candidates are sorted before they are read, so their order never
// matters.
#define FSSL_ROW __device__

#include <cstring>
#include <type_traits>

#include "fssl/scoring_cuda.h"
#include "noise/engine_device.cuh"
#include "noise/vllm_device.cuh"
#include "scoring/fused_row.h"

namespace fssl {
namespace {

using fused::kInf;
constexpr int kThreads = 512;
constexpr int kReduceSlotBytes = 160;  // the largest partial score_row combines (Tally of 17 counts)

struct Shared {
  alignas(16) unsigned char reduce[32 * kReduceSlotBytes];
  alignas(16) unsigned char once[64];
  unsigned bins[fused::kRadixBins];
  double dbins[fused::kTopPBuckets + 1];
  float buffer[fused::kTopPCandidates];
  int counter;
};

template <class T, class C>
__device__ T warp_reduce(T v, C combine) {
  static_assert(sizeof(T) % 4 == 0 && std::is_trivially_copyable<T>::value, "shuffled word by word");
  for (int offset = 16; offset > 0; offset >>= 1) {
    T other;
    unsigned words[sizeof(T) / 4];
    memcpy(words, &v, sizeof(T));
    for (unsigned& w : words) w = __shfl_down_sync(0xffffffffu, w, offset);
    memcpy(&other, words, sizeof(T));
    v = combine(v, other);  // lanes past the top combine with themselves; only lane 0 is read
  }
  return v;
}

class DeviceBlock {
 public:
  __device__ explicit DeviceBlock(Shared& shared) : sh_(shared) {}
  __device__ int thread() const { return static_cast<int>(threadIdx.x); }
  __device__ int threads() const { return static_cast<int>(blockDim.x); }

  template <class F, class C>
  __device__ auto reduce(F partial, C combine) {
    using T = decltype(partial(0));
    static_assert(sizeof(T) <= kReduceSlotBytes, "partial larger than a reduce slot");
    T v = warp_reduce(partial(thread()), combine);
    T* slots = reinterpret_cast<T*>(sh_.reduce);
    if ((threadIdx.x & 31) == 0) slots[threadIdx.x >> 5] = v;
    __syncthreads();
    if (threadIdx.x == 0) {
      T acc = slots[0];
      for (unsigned w = 1; w < blockDim.x / 32; ++w) acc = combine(acc, slots[w]);
      slots[0] = acc;
    }
    __syncthreads();
    const T out = slots[0];
    __syncthreads();
    return out;
  }
  template <class F>
  __device__ void count(unsigned* bins, int n, F body) {
    for (int i = thread(); i < n; i += threads()) bins[i] = 0;
    __syncthreads();
    // Lanes adding to the same bin add once, together: the radix select's leading digits put
    // almost every element of a row in one or two bins.
    body(thread(), [bins](int bin) {
      const unsigned same = __match_any_sync(__activemask(), bin);
      if ((threadIdx.x & 31) == __ffs(same) - 1) atomicAdd(&bins[bin], static_cast<unsigned>(__popc(same)));
    });
    __syncthreads();
  }
  template <class F>
  __device__ void accumulate(double* bins, int n, F body) {
    for (int i = thread(); i < n; i += threads()) bins[i] = 0.0;
    __syncthreads();
    body(thread(), [bins](int bin, double x) { atomicAdd(&bins[bin], x); });
    __syncthreads();
  }
  template <class F>
  __device__ int collect(float* buf, int cap, F body) {
    if (threadIdx.x == 0) sh_.counter = 0;
    __syncthreads();
    int* counter = &sh_.counter;
    body(thread(), [buf, cap, counter](float v) {
      const int at = atomicAdd(counter, 1);
      if (at < cap) buf[at] = v;
    });
    __syncthreads();
    const int total = sh_.counter;
    __syncthreads();
    return total;
  }
  // Bitonic sort of n <= kTopPCandidates values, padded with -inf to a power of two.
  __device__ void sort_descending(float* buf, int n) {
    int size = 1;
    while (size < n) size <<= 1;
    for (int i = n + thread(); i < size; i += threads()) buf[i] = -kInf;
    __syncthreads();
    for (int k = 2; k <= size; k <<= 1) {
      for (int j = k >> 1; j > 0; j >>= 1) {
        for (int i = thread(); i < size; i += threads()) {
          const int partner = i ^ j;
          if (partner <= i) continue;
          const float a = buf[i], c = buf[partner];
          if ((i & k) == 0 ? a < c : a > c) {
            buf[i] = c;
            buf[partner] = a;
          }
        }
        __syncthreads();
      }
    }
  }
  template <class F>
  __device__ auto once(F f) {
    using T = decltype(f());
    static_assert(sizeof(T) <= sizeof(Shared::once), "value larger than the broadcast slot");
    T* slot = reinterpret_cast<T*>(sh_.once);
    __syncthreads();
    if (threadIdx.x == 0) *slot = f();
    __syncthreads();
    const T out = *slot;
    __syncthreads();
    return out;
  }
  __device__ unsigned* bins() { return sh_.bins; }
  __device__ double* dbins() { return sh_.dbins; }
  __device__ float* buffer() { return sh_.buffer; }

 private:
  Shared& sh_;
};

struct ExplicitNoise {
  const float* e_row;
  const float* g_row;  // may be null
  __device__ float e(std::int64_t i) const { return e_row[i]; }
  __device__ float g(std::int64_t i) const { return g_from(i, e_row[i]); }
  __device__ float g_from(std::int64_t i, float e) const { return g_row != nullptr ? g_row[i] : -logf(e); }
};

struct VllmNoise {
  std::uint64_t seed, stride, blocks_per_row, row;
  __device__ float e(std::int64_t i) const {
    return vllm_cuda_exp1(seed, stride, blocks_per_row, row, static_cast<std::uint64_t>(i));
  }
  __device__ float g(std::int64_t i) const { return -logf(e(i)); }
  __device__ float g_from(std::int64_t, float e) const { return -logf(e); }
};

// vllm-mrv2 / sglang: G generated per column (engine_device.cuh), E = exp(-G) for the pi / E ranks,
// kept positive where G is huge (as profile_noise_rows does on the CPU).
struct EngineNoise {
  bool sglang;
  int variant;
  std::uint64_t seed, position;
  std::uint32_t row_seed;  // vllm-mrv2: triton_randint(seed, position)
  __device__ float g(std::int64_t i) const {
    return sglang ? sglang_gumbel_device(variant, seed, position, static_cast<std::uint32_t>(i))
                  : vllm_mrv2_gumbel_device(variant, seed, position, row_seed, static_cast<std::uint64_t>(i));
  }
  __device__ float e(std::int64_t i) const { return fmaxf(expf(-g(i)), 1e-30f); }
  __device__ float g_from(std::int64_t i, float) const { return g(i); }
};

struct Launch {
  const float* logits;
  std::int64_t ld, vocab;
  const std::int64_t* claimed;
  FusedNoiseSource noise;
  VllmCudaLayout layout;
  fused::RowParams params;
  fused::RowResult* results;
};

__global__ void __launch_bounds__(kThreads) score_rows_kernel(const Launch a) {
  __shared__ Shared shared;
  DeviceBlock block(shared);
  const std::int64_t r = blockIdx.x;
  const std::int64_t y = a.claimed[r];
  fused::RowResult result;
  if (y < 0 || y >= a.vocab) {
    result.status = fused::kRowBadClaim;
  } else if (a.noise.kind == FusedNoiseSource::Kind::kVllmCuda) {
    const VllmNoise noise{a.noise.seed, a.layout.stride, a.layout.blocks_per_row,
                          static_cast<std::uint64_t>(a.noise.first_row + r)};
    result = fused::score_row(block, a.logits + r * a.ld, a.vocab, y, noise, a.params);
  } else if (a.noise.kind == FusedNoiseSource::Kind::kVllmMrv2 || a.noise.kind == FusedNoiseSource::Kind::kSglang) {
    const bool sglang = a.noise.kind == FusedNoiseSource::Kind::kSglang;
    const auto position = static_cast<std::uint64_t>(a.noise.first_position + r);
    const bool philox = !sglang && a.noise.variant < kDeviceMrv2Murmur3;
    const std::uint32_t row_seed = philox ? triton_randint4x_device(a.noise.seed, position)[0] : 0u;
    const EngineNoise noise{sglang, a.noise.variant, a.noise.seed, position, row_seed};
    result = fused::score_row(block, a.logits + r * a.ld, a.vocab, y, noise, a.params);
  } else {
    const ExplicitNoise noise{a.noise.e + r * a.noise.ld, a.noise.g != nullptr ? a.noise.g + r * a.noise.ld : nullptr};
    result = fused::score_row(block, a.logits + r * a.ld, a.vocab, y, noise, a.params);
  }
  if (threadIdx.x == 0) a.results[r] = result;
}

__global__ void neg_log_kernel(const float* e, float* g, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    g[i] = -logf(e[i]);
  }
}

}  // namespace

cudaError_t score_rows_cuda(const float* logits_device, std::int64_t ld, std::int64_t n_rows, std::int64_t vocab,
                            const std::int64_t* claimed_device, const FusedNoiseSource& noise,
                            const fused::RowParams& params, fused::RowResult* results_device, cudaStream_t stream) {
  const bool vllm = noise.kind == FusedNoiseSource::Kind::kVllmCuda;
  const bool engine = noise.kind == FusedNoiseSource::Kind::kVllmMrv2 || noise.kind == FusedNoiseSource::Kind::kSglang;
  if (n_rows < 0 || n_rows > 0x7fffffff || vocab < 1 || ld < vocab || params.n_thresholds < 1 ||
      params.n_thresholds > fused::kMaxThresholds ||
      (n_rows > 0 && (!logits_device || !claimed_device || !results_device)) ||
      (vllm && (noise.sm_count < 1 || noise.max_threads_per_sm < 256 || noise.first_row < 0)) ||
      (engine && (noise.first_position < 0 || noise.variant < 0 ||
                 noise.variant > (noise.kind == FusedNoiseSource::Kind::kSglang ? 1 : kDeviceMrv2Murmur3Fp64))) ||
      (!vllm && !engine && n_rows > 0 && (noise.e == nullptr || noise.ld < vocab))) {
    return cudaErrorInvalidValue;
  }
  if (n_rows == 0) return cudaSuccess;
  Launch a{logits_device, ld, vocab, claimed_device, noise, {}, params, results_device};
  if (vllm) a.layout = vllm_cuda_layout(noise.sm_count, noise.max_threads_per_sm, vocab);
  score_rows_kernel<<<static_cast<unsigned>(n_rows), kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

cudaError_t neg_log_cuda(const float* e_device, float* g_device, std::int64_t n, cudaStream_t stream) {
  if (n < 0 || (n > 0 && (e_device == nullptr || g_device == nullptr))) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  const std::int64_t blocks = std::min<std::int64_t>((n + 255) / 256, 65536);
  neg_log_kernel<<<static_cast<unsigned>(blocks), 256, 0, stream>>>(e_device, g_device, n);
  return cudaGetLastError();
}

}  // namespace fssl
