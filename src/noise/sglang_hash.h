// SGLang's murmur_hash32 (python/sglang/srt/layers/utils/hash.py), shared by the CPU rows
// (noise/sglang.cpp) and the fused CUDA scorer (noise/engine_device.cuh): MurmurHash3_x86_32 with
// seed 0 over the words [seed lo, seed hi, position lo, column]. Plain C++, host and device.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define FSSL_SGLANG_HD __host__ __device__
#else
#define FSSL_SGLANG_HD
#endif

namespace fssl {

FSSL_SGLANG_HD inline std::uint32_t sglang_murmur_block(std::uint32_t h, std::uint32_t k) {
  k *= 0xcc9e2d51u;
  k = (k << 15) | (k >> 17);
  k *= 0x1b873593u;
  h ^= k;
  h = (h << 13) | (h >> 19);
  return h * 5u + 0xe6546b64u;
}

FSSL_SGLANG_HD inline std::uint32_t sglang_murmur3(std::uint64_t seed, std::uint64_t position, std::uint32_t column) {
  std::uint32_t h = 0;
  h = sglang_murmur_block(h, static_cast<std::uint32_t>(seed));
  h = sglang_murmur_block(h, static_cast<std::uint32_t>(seed >> 32));
  h = sglang_murmur_block(h, static_cast<std::uint32_t>(position));  // SGLang keeps the low 32 bits
  h = sglang_murmur_block(h, column);
  h ^= 16u;  // length in bytes
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

}  // namespace fssl
