// The counter-based hash of SGLang's seeded sampler (python/sglang/srt/layers/utils/hash.py) and of
// vLLM Model Runner V2's Gumbel noise from vllm#51367 (gumbel.py, murmur3_hash32): MurmurHash3_x86_32
// of the 16 little-endian bytes [seed lo, seed hi, position lo, column] with the hash seed `domain`
// (0 for both engines' main draw; vLLM's float64 path draws a second word with 0x9E3779B9). Both
// engines keep only the low 32 bits of the position. Plain C++, shared by the CPU rows
// (noise/sglang.cpp, noise/vllm_murmur3.cpp) and the fused CUDA scorer (noise/engine_device.cuh).
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define FSSL_MURMUR3_HD __host__ __device__
#else
#define FSSL_MURMUR3_HD
#endif

namespace fssl {

// vLLM's domain of the high word of its 53-bit float64 uniform (the golden-ratio constant).
constexpr std::uint32_t kMurmur3HighWordDomain = 0x9e3779b9u;

FSSL_MURMUR3_HD inline std::uint32_t murmur3_block(std::uint32_t h, std::uint32_t k) {
  k *= 0xcc9e2d51u;
  k = (k << 15) | (k >> 17);
  k *= 0x1b873593u;
  h ^= k;
  h = (h << 13) | (h >> 19);
  return h * 5u + 0xe6546b64u;
}

FSSL_MURMUR3_HD inline std::uint32_t murmur3_key16(std::uint32_t domain, std::uint64_t seed, std::uint64_t position,
                                                   std::uint32_t column) {
  std::uint32_t h = domain;
  h = murmur3_block(h, static_cast<std::uint32_t>(seed));
  h = murmur3_block(h, static_cast<std::uint32_t>(seed >> 32));
  h = murmur3_block(h, static_cast<std::uint32_t>(position));
  h = murmur3_block(h, column);
  h ^= 16u;  // length in bytes
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

}  // namespace fssl
