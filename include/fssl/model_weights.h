// The weight files of a model directory (read by the model module, model inspect and the fingerprint; no libtorch): one model.safetensors, or
// shards listed by model.safetensors.index.json. Maps every tensor name to its view.
#pragma once

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

// Hex model fingerprint of a model directory (docs/model-format.md): config fields + every
// tensor's name, dtype, shape and SHA-256 of its bytes. Throws ModelError for an unreadable
// config or weight file.
std::string model_fingerprint(const std::string& dir);

}  // namespace fssl
