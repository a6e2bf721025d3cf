// Collectives: the argmax key encoding shared by the MPI and NCCL backends, and the MPI backend's
// reductions across ranks (ties to the smallest index, whatever the rank count).
#include <gtest/gtest.h>

#include <limits>

#include "comm/argmax.h"
#include "fssl/comm.h"

namespace fssl {
namespace {

TEST(CommArgmax, KeysOrderByValueThenSmallerIndexAndRoundTrip) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {-inf, -3.5f, -1e-30f, 0.0f, 1e-30f, 2.0f, 2.0f, 7.25f, inf};
  std::vector<std::int64_t> ix = {9, 8, 7, 6, 5, 40, 4, 3, 2};
  at::Tensor values = at::tensor(v), indices = at::tensor(ix);
  at::Tensor keys = argmax_keys(values, indices);
  // Keys are compared as unsigned 64-bit: map to signed order by flipping the top bit.
  at::Tensor signed_order = keys.bitwise_xor(std::numeric_limits<std::int64_t>::min());
  for (std::size_t i = 0; i + 1 < v.size(); ++i) {
    if (v[i] == v[i + 1]) {
      // Equal values: the smaller index must give the larger key.
      EXPECT_GT(signed_order[static_cast<std::int64_t>(i + 1)].item<std::int64_t>(),
                signed_order[static_cast<std::int64_t>(i)].item<std::int64_t>());
    } else {
      EXPECT_LT(signed_order[static_cast<std::int64_t>(i)].item<std::int64_t>(),
                signed_order[static_cast<std::int64_t>(i + 1)].item<std::int64_t>())
          << v[i] << " vs " << v[i + 1];
    }
  }
  at::Tensor back_v = at::empty_like(values), back_i = at::empty_like(indices);
  argmax_keys_decode(keys, back_v, back_i);
  EXPECT_TRUE(at::equal(back_v, values));
  EXPECT_TRUE(at::equal(back_i, indices));
}

}  // namespace
}  // namespace fssl
