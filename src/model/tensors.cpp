// Weights as tensors (model/impl.h): CPU views of a safetensors mapping, and the group
// quantization the simulator's quantized-deployment bug mode serves with.
#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>

#include "model/impl.h"

namespace fssl {

at::Tensor tensor_view(const TensorView& view, const std::string& file) {
  at::ScalarType type;
  switch (view.dtype) {
    case SafetensorsDtype::kF32: type = at::kFloat; break;
    case SafetensorsDtype::kBF16: type = at::kBFloat16; break;
    case SafetensorsDtype::kF16: type = at::kHalf; break;
    case SafetensorsDtype::kF64: type = at::kDouble; break;
    default:
      FSSL_THROW(ModelError, "{}: tensor '{}' has dtype {}, not a floating-point weight dtype (F32, BF16, F16)", file,
                 view.name, safetensors_dtype_name(view.dtype));
  }
  const auto size = static_cast<std::size_t>(safetensors_dtype_size(view.dtype));
  if (reinterpret_cast<std::uintptr_t>(view.data) % size != 0) {
    // Misaligned data (legal in the format): copy once instead of handing ATen a bad pointer.
    at::Tensor copy = at::empty(view.shape, at::TensorOptions().dtype(type));
    std::memcpy(copy.data_ptr(), view.data, view.n_bytes);
    return copy;
  }
  return at::from_blob(const_cast<std::uint8_t*>(view.data), view.shape, at::TensorOptions().dtype(type));
}

at::Tensor quantize_groups(const at::Tensor& w, int bits, std::int64_t group) {
  FSSL_CHECK(w.dim() == 2 && group > 0 && bits >= 2 && bits <= 16, ConfigError,
             "quantize: {} bits in groups of {} of a {}-d weight", bits, group, w.dim());
  const std::int64_t rows = w.size(0), cols = w.size(1), groups = (cols + group - 1) / group;
  const double levels = static_cast<double>((1 << (bits - 1)) - 1);  // symmetric: -levels .. levels
  // A short last group is padded with zeros, which change no group's absmax.
  at::Tensor padded = at::zeros({rows, groups * group}, at::kFloat);
  padded.narrow(1, 0, cols).copy_(w);
  const at::Tensor g = padded.view({rows, groups, group});
  const at::Tensor scale = g.abs().amax(2, /*keepdim=*/true).clamp_min(1e-12) / levels;
  const at::Tensor q = (g / scale).round().clamp(-levels, levels).mul(scale).view({rows, groups * group});
  return q.narrow(1, 0, cols).contiguous().to(w.scalar_type());
}

}  // namespace fssl
