// Bad model directories: each refused at load with a message naming the file and the tensor or
// config field at fault.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "model_test_util.h"
#include "test_util.h"

namespace fssl {
namespace {

namespace fs = std::filesystem;

// Copies the llama fixture into `dir`, letting `edit` change the tensor list before writing.
struct Owned {
  TensorToWrite spec;
  std::vector<std::uint8_t> bytes;
};
void copy_llama(const std::string& dir, const std::function<void(std::vector<Owned>&)>& edit) {
  fs::create_directories(dir);
  fs::copy_file(test::hf_fixture("llama") + "/config.json", dir + "/config.json");
  SafetensorsFile in = SafetensorsFile::open(test::hf_fixture("llama") + "/model.safetensors");
  std::vector<Owned> tensors;
  for (const TensorView& t : in.tensors()) {
    tensors.push_back({{t.name, t.dtype, t.shape, nullptr, t.n_bytes}, std::vector<std::uint8_t>(t.data, t.data + t.n_bytes)});
  }
  edit(tensors);
  std::vector<TensorToWrite> out;
  for (Owned& o : tensors) {
    o.spec.data = o.bytes.data();
    o.spec.n_bytes = o.bytes.size();
    out.push_back(o.spec);
  }
  safetensors_write(dir + "/model.safetensors", out);
}

Owned& tensor(std::vector<Owned>& tensors, const std::string& name) {
  for (Owned& o : tensors) {
    if (o.spec.name == name) return o;
  }
  throw std::runtime_error("no tensor " + name);
}

// Loads `dir` expecting a ModelError whose text contains every fragment.
void expect_refused(const std::string& dir, const std::vector<std::string>& fragments) {
  auto comm = comm_local();
  try {
    Model::load(dir, *comm, ModelOptions{});
    ADD_FAILURE() << dir << " loaded";
  } catch (const ModelError& e) {
    for (const std::string& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

TEST(ModelLoad, MissingShardFileIsNamed) {
  test::TempDir dir;
  fs::copy(test::hf_fixture("llama-sharded"), dir / "m");
  std::string victim;
  for (const auto& e : fs::directory_iterator(dir / "m")) {
    const std::string name = e.path().filename();
    if (name.rfind("model-", 0) == 0) victim = name;
  }
  ASSERT_FALSE(victim.empty());
  fs::remove(dir / ("m/" + victim));
  expect_refused(dir / "m", {victim, "missing weight file"});
}

TEST(ModelLoad, WrongTensorShapeIsNamed) {
  test::TempDir dir;
  copy_llama(dir / "m", [](std::vector<Owned>& t) {
    Owned& norm = tensor(t, "model.norm.weight");
    norm.spec.shape = {32};
    norm.bytes.resize(32 * 4);
  });
  expect_refused(dir / "m", {"model.safetensors", "'model.norm.weight' has shape [32], the config implies [64]"});
}

TEST(ModelLoad, NonFloatDtypeIsNamed) {
  test::TempDir dir;
  copy_llama(dir / "m", [](std::vector<Owned>& t) { tensor(t, "model.norm.weight").spec.dtype = SafetensorsDtype::kI32; });
  expect_refused(dir / "m", {"'model.norm.weight' has dtype I32, not a floating-point weight dtype"});
}

TEST(ModelLoad, NanWeightIsNamed) {
  test::TempDir dir;
  copy_llama(dir / "m", [](std::vector<Owned>& t) {
    const float nan = std::nanf("");
    std::memcpy(tensor(t, "model.layers.1.mlp.down_proj.weight").bytes.data() + 40, &nan, 4);
  });
  expect_refused(dir / "m", {"'model.layers.1.mlp.down_proj.weight' holds NaN or Inf"});
}

TEST(ModelLoad, MissingTensorIsNamed) {
  test::TempDir dir;
  copy_llama(dir / "m", [](std::vector<Owned>& t) {
    t.erase(std::remove_if(t.begin(), t.end(), [](const Owned& o) { return o.spec.name == "model.layers.0.self_attn.k_proj.weight"; }),
            t.end());
  });
  expect_refused(dir / "m", {"missing tensor 'model.layers.0.self_attn.k_proj.weight'"});
}

TEST(ModelLoad, UnsupportedArchitectureNamesTheField) {
  test::TempDir dir;
  fs::copy(test::hf_fixture("llama"), dir / "m");
  std::ifstream in(dir / "m/config.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.replace(text.find("LlamaForCausalLM"), 16, "GPT2LMHeadModel");
  std::ofstream(dir / "m/config.json", std::ios::trunc) << text;
  expect_refused(dir / "m", {"config.json", "field 'architectures' = 'GPT2LMHeadModel' is not supported"});
}

// MoE features of other families fssl does not replay (shared experts, grouped routing) are
// refused by name, and a top-k wider than the experts is a config error; a missing expert tensor
// is named like any other.
TEST(ModelLoad, UnsupportedExpertFeaturesAreNamed) {
  const auto edited = [](const std::string& dir, const std::string& from, const std::string& to) {
    fs::copy(test::hf_fixture("qwen3-moe"), dir);
    std::ifstream in(dir + "/config.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.replace(text.find(from), from.size(), to);
    std::ofstream(dir + "/config.json", std::ios::trunc) << text;
  };
  test::TempDir dir;
  edited(dir / "shared", "\"norm_topk_prob\"", "\"n_shared_experts\": 2, \"norm_topk_prob\"");
  expect_refused(dir / "shared", {"config.json", "field 'n_shared_experts'", "not supported"});
  edited(dir / "wide", "\"num_experts_per_tok\": 2", "\"num_experts_per_tok\": 7");
  expect_refused(dir / "wide", {"config.json", "num_experts_per_tok", "= 7"});
  fs::copy(test::hf_fixture("mixtral"), dir / "mixtral");
  fs::remove(dir / "mixtral/model.safetensors");
  SafetensorsFile in = SafetensorsFile::open(test::hf_fixture("mixtral") + "/model.safetensors");
  std::vector<TensorToWrite> kept;
  for (const TensorView& t : in.tensors()) {
    if (t.name != "model.layers.1.block_sparse_moe.experts.4.w3.weight") kept.push_back({t.name, t.dtype, t.shape, t.data, t.n_bytes});
  }
  safetensors_write(dir / "mixtral/model.safetensors", kept);
  expect_refused(dir / "mixtral", {"model.layers.1.block_sparse_moe.experts.4.w3.weight"});
}

}  // namespace
}  // namespace fssl
