// Argmax-with-index as one unsigned 64-bit MAX, for backends without MPI_MAXLOC (NCCL): the key
// is (order-preserving bits of the float value) << 32 | (0xFFFFFFFF - index), so the larger value
// wins and, on equal values, the smaller index. Private to the comm backends.
#pragma once

#include <ATen/ATen.h>

namespace fssl {

inline constexpr std::int64_t kLow32 = 0xFFFFFFFF;
inline constexpr std::int64_t kSign32 = 0x80000000;

// values [n] float32, indices [n] int64 (< 2^32) -> keys [n] int64 holding uint64 bit patterns.
inline at::Tensor argmax_keys(const at::Tensor& values, const at::Tensor& indices) {
  at::Tensor bits = values.contiguous().view(at::kInt).to(at::kLong) & kLow32;
  // IEEE floats order like sign-magnitude integers: flip all bits of negatives, the sign of positives.
  at::Tensor ordered = at::where(bits >= kSign32, bits.bitwise_not() & kLow32, bits | kSign32);
  return ordered.bitwise_left_shift(32).bitwise_or(kLow32 - indices);
}

// Inverse of argmax_keys, written into values and indices.
inline void argmax_keys_decode(const at::Tensor& keys, at::Tensor& values, at::Tensor& indices) {
  at::Tensor ordered = keys.bitwise_right_shift(32) & kLow32;  // arithmetic shift, then mask
  at::Tensor bits = at::where(ordered >= kSign32, ordered ^ kSign32, ordered.bitwise_not() & kLow32);
  values.copy_(bits.to(at::kInt).view(at::kFloat));
  indices.copy_(kLow32 - (keys & kLow32));
}

}  // namespace fssl
