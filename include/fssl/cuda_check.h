// FSSL_CUDA_CHECK: a CUDA runtime call whose failure throws CommError with the call, the error's
// name and text, and file:line (FSSL_THROW). For CUDA-aware translation units only.
#pragma once

#include <cuda_runtime_api.h>

#include "fssl/error.h"

#define FSSL_CUDA_CHECK(call)                                                                              \
  do {                                                                                                     \
    const cudaError_t fssl_cuda_rc_ = (call);                                                              \
    if (fssl_cuda_rc_ != cudaSuccess) {                                                                    \
      FSSL_THROW(::fssl::CommError, "{} failed: {} ({})", #call, cudaGetErrorString(fssl_cuda_rc_),        \
                 cudaGetErrorName(fssl_cuda_rc_));                                                         \
    }                                                                                                      \
  } while (0)
