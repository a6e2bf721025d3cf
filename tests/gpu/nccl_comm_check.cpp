// The NCCL Communicator (comm.h, comm_nccl) on CUDA tensors, one rank per GPU: every collective
// against values computed on the host from each rank's known inputs. Exits 0 with "SKIP" when no
// CUDA device (or no CUDA libtorch) is usable.
#include <ATen/ATen.h>

#include <cstdio>

#include "fssl/comm.h"
#include "fssl/gpu.h"
#include "fssl/log.h"
#include "fssl/mpi.h"
#include "comm/nccl_owner.h"

int main(int argc, char** argv) {
  fssl::MpiEnvironment env(&argc, &argv);
  int code = 0;
  try {
    fssl::MpiComm world;
    at::Device device = at::kCPU;
    bool have_gpu = true;
    try {
      device = fssl::bind_local_gpu(fssl::local_rank_hint(&world));
    } catch (const fssl::Error&) {
      have_gpu = false;
    }
    if (!world.all_true(have_gpu)) {
      if (world.rank() == 0) std::printf("SKIP: no usable CUDA device (or CUDA libtorch) on every rank\n");
      return 0;
    }
    auto comm = fssl::comm_nccl(world);
    const int p = world.world_size(), r = world.rank();
    const auto on = at::TensorOptions().device(device);
    int failures = 0;
    auto expect = [&](bool ok, const char* what) {
      if (!ok) std::printf("FAIL rank %d: %s\n", r, what);
      failures += !ok;
    };
    // sum: rank r holds i + r; the sum is p i + p (p - 1) / 2.
    at::Tensor x = at::arange(1000, on.dtype(at::kFloat)) + r;
    comm->all_reduce_sum(x);
    expect(at::equal(x.cpu(), at::arange(1000, at::kFloat) * p + p * (p - 1) / 2), "all_reduce_sum float32");
    at::Tensor n = at::full({7}, r + 1, on.dtype(at::kLong));
    comm->all_reduce_sum(n);
    expect(at::equal(n.cpu(), at::full({7}, p * (p + 1) / 2, at::kLong)), "all_reduce_sum int64");
    at::Tensor m = at::full({5}, static_cast<double>(r), on.dtype(at::kFloat));
    comm->all_reduce_max(m);
    expect(at::equal(m.cpu(), at::full({5}, static_cast<double>(p - 1), at::kFloat)), "all_reduce_max");
    // argmax: every rank offers value 1 at index 100 + r and a larger value 2 at index 50 - r for
    // row 1: row 0's tie goes to the smallest index (100), row 1's maximum to rank p - 1's 50 - (p - 1).
    at::Tensor values = at::tensor({1.0f, 2.0f}).to(device), indices = at::tensor({100 + r, 50 - r}).to(device, at::kLong);
    comm->all_reduce_argmax(values, indices);
    expect(at::equal(indices.cpu(), at::tensor({100, 50 - (p - 1)}).to(at::kLong)), "all_reduce_argmax");
    at::Tensor gathered = comm->all_gather(at::full({2, 3}, r, on.dtype(at::kFloat)));
    expect(gathered.size(0) == 2 * p && gathered.select(0, 2 * p - 1).cpu().eq(p - 1).all().item<bool>(), "all_gather");
    at::Tensor b = at::full({4}, r == 0 ? 42.0 : -1.0, on.dtype(at::kFloat));
    comm->broadcast(b, 0);
    expect(b.cpu().eq(42.0f).all().item<bool>(), "broadcast");
    comm->barrier();
    comm.reset();
    const bool ok = world.all_true(failures == 0);
    if (r == 0) std::printf("%s: NCCL Communicator collectives over %d ranks (%s)\n", ok ? "PASS" : "FAIL", p,
                            fssl::device_describe(device).c_str());
    code = ok ? 0 : 1;
  } catch (const std::exception& e) {
    FSSL_LOG_ERROR("{}", e.what());
    fssl::MpiEnvironment::abort(1);
  }
  return code;
}
