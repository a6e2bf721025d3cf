// The weight files of a model directory (private to the model module): one model.safetensors, or
// shards listed by model.safetensors.index.json. Maps every tensor name to its view.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "fssl/safetensors.h"

namespace fssl {

class WeightFiles {
 public:
  // Opens and validates every file. Throws ModelError naming the missing or bad file.
  static WeightFiles open(const std::string& dir);

  // Throws ModelError "<dir>: missing tensor '<name>'".
  const TensorView& get(const std::string& name) const;
  const TensorView* find(const std::string& name) const;
  // Every tensor, sorted by name.
  std::vector<const TensorView*> all() const;
  // The file a tensor comes from (for messages).
  const std::string& file_of(const std::string& name) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, std::pair<std::size_t, const TensorView*>> by_name_;
};

// A CPU tensor viewing (not owning) the mapped bytes; valid while the WeightFiles live.
// Floating dtypes only (F32, BF16, F16, F64); others throw ModelError naming the tensor.
at::Tensor tensor_view(const TensorView& view, const std::string& file);

}  // namespace fssl
