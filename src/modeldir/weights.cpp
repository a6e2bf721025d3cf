// WeightFiles (fssl/model_weights.h): single-file and sharded safetensors checkpoints.
#include "fssl/model_weights.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "fssl/error.h"

namespace fssl {

WeightFiles WeightFiles::open(const std::string& dir) {
  WeightFiles w;
  w.dir_ = dir;
  std::vector<std::string> names;
  const std::string index_path = dir + "/model.safetensors.index.json";
  // transformers prefers model.safetensors when both it and an index exist.
  if (!std::filesystem::exists(dir + "/model.safetensors") && std::filesystem::exists(index_path)) {
    std::ifstream in(index_path);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
      std::set<std::string> files;
      for (const auto& [tensor, file] : j.at("weight_map").items()) files.insert(file.get<std::string>());
      names.assign(files.begin(), files.end());
    } catch (const nlohmann::json::exception& e) {
      FSSL_THROW(ModelError, "{}: malformed index: {}", index_path, e.what());
    }
  } else {
    names.push_back("model.safetensors");
  }
  for (const std::string& name : names) {
    FSSL_CHECK(name.find('/') == std::string::npos, ModelError, "{}: shard name '{}' must be a plain file name",
               index_path, name);
    const std::string path = dir + "/" + name;
    FSSL_CHECK(std::filesystem::exists(path), ModelError, "{}: missing weight file (model directory incomplete?)", path);
    w.files_.push_back(SafetensorsFile::open(path));
  }
  for (std::size_t f = 0; f < w.files_.size(); ++f) {
    for (const TensorView& t : w.files_[f].tensors()) {
      auto [it, inserted] = w.by_name_.emplace(t.name, std::make_pair(f, &t));
      FSSL_CHECK(inserted, ModelError, "{}: tensor '{}' also appears in {}", w.files_[f].path(), t.name,
                 w.files_[it->second.first].path());
    }
  }
  return w;
}

const TensorView* WeightFiles::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second.second;
}

const TensorView& WeightFiles::get(const std::string& name) const {
  const TensorView* t = find(name);
  FSSL_CHECK(t != nullptr, ModelError, "{}: missing tensor '{}' (in none of the weight files)", dir_, name);
  return *t;
}

std::vector<const TensorView*> WeightFiles::all() const {
  std::vector<const TensorView*> out;
  for (const auto& [name, entry] : by_name_) out.push_back(entry.second);
  return out;
}

const std::string& WeightFiles::file_of(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? dir_ : files_[it->second.first].path();
}

}  // namespace fssl
