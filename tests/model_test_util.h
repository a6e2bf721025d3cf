// Helpers for the model tests: HF golden fixtures (tests/data/hf/<name>/golden.safetensors,
// produced by tests/data/hf/generate_hf_golden.py with transformers) and batch packing.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "fssl/model.h"
#include "fssl/safetensors.h"

namespace fssl::test {

inline std::string hf_fixture(const std::string& name) { return std::string(FSSL_TEST_DATA_DIR) + "/hf/" + name; }

struct GoldenSequence {
  at::Tensor input_ids;  // [L] int64
  at::Tensor logits;     // [L, V] float32 from transformers
};

inline std::vector<GoldenSequence> golden_sequences(const std::string& name) {
  SafetensorsFile file = SafetensorsFile::open(hf_fixture(name) + "/golden.safetensors");
  const int n = std::stoi(file.metadata().at("n_sequences"));
  std::vector<GoldenSequence> out;
  for (int i = 0; i < n; ++i) {
    const TensorView* ids = file.find("seq" + std::to_string(i) + ".input_ids");
    const TensorView* logits = file.find("seq" + std::to_string(i) + ".logits");
    out.push_back({at::from_blob(const_cast<std::uint8_t*>(ids->data), ids->shape, at::kLong).clone(),
                   at::from_blob(const_cast<std::uint8_t*>(logits->data), logits->shape, at::kFloat).clone()});
  }
  return out;
}

inline std::string golden_fingerprint(const std::string& name) {
  return SafetensorsFile::open(hf_fixture(name) + "/golden.safetensors").metadata().at("fingerprint");
}

// All sequences packed into one batch: tokens [T] and one segment each (no cache).
inline std::pair<at::Tensor, std::vector<Segment>> pack(const std::vector<GoldenSequence>& seqs) {
  std::vector<at::Tensor> ids;
  std::vector<Segment> segments;
  std::int64_t start = 0;
  for (const GoldenSequence& s : seqs) {
    ids.push_back(s.input_ids);
    segments.push_back({start, s.input_ids.size(0), nullptr});
    start += s.input_ids.size(0);
  }
  return {at::cat(ids), segments};
}

// Full-vocabulary logits of every packed position (TP = 1 models): [T, V].
inline at::Tensor all_logits(Model& model, const at::Tensor& tokens, const std::vector<Segment>& segments) {
  at::NoGradGuard no_grad;
  at::Tensor hidden = model.forward_hidden(tokens, segments);
  return model.logits_shard(hidden).narrow(1, 0, model.config().vocab_size);
}

}  // namespace fssl::test
