// `fssl model init|inspect`.
#include <iostream>
#include <map>

#include "cli/options.h"
#include "fssl/model.h"
#include "fssl/model_init.h"
#include "fssl/safetensors.h"
#include "fssl/model_weights.h"

namespace fssl {

int cli_model_init(const std::vector<std::string>& args) {
  CommandSpec spec{"model init", "", "fssl model init --arch llama|qwen2|qwen3|qwen3-moe|mixtral --preset tiny|small|medium --out DIR"};
  po::options_description o("Options");
  ModelInitOptions m;
  o.add_options()
      ("arch", po::value<std::string>(&m.arch)->default_value(m.arch), "llama | qwen2 | qwen3 | qwen3-moe | mixtral (MoE: 8 experts, top-2)")
      ("preset", po::value<std::string>(&m.preset)->default_value(m.preset),
       "tiny (2 layers, hidden 64, V 512) | small (4, 256, 4096) | medium (8, 512, 32000)")
      ("seed", po::value<std::uint64_t>(&m.seed)->default_value(m.seed), "weights depend only on (arch, preset, seed)")
      ("dtype", po::value<std::string>(&m.dtype)->default_value(m.dtype), "weight dtype on disk: f32 | bf16")
      ("out", po::value<std::string>()->required(), "model directory to write (config.json + model.safetensors)");
  po::variables_map vm;
  if (!cli_parse(spec, args, o, {"out"}, &vm)) return kExitOk;
  const std::string dir = vm["out"].as<std::string>();
  model_init(m, dir);
  const ModelConfig c = ModelConfig::read(dir);
  fmt::print("# model init: {} {} seed {} -> {} ({} parameters, {})\n", m.arch, m.preset, m.seed, dir, c.n_parameters(),
             m.dtype);
  fmt::print("# fingerprint     : {}\n", model_fingerprint(dir));
  return kExitOk;
}

int cli_model_inspect(const std::vector<std::string>& args) {
  CommandSpec spec{"model inspect", "", "fssl model inspect [--model] DIR"};
  po::options_description o("Options");
  o.add_options()("model", po::value<std::string>()->required(), "Hugging Face model directory");
  po::variables_map vm;
  if (!cli_parse(spec, args, o, {"model"}, &vm)) return kExitOk;
  const std::string dir = vm["model"].as<std::string>();
  const ModelConfig c = ModelConfig::read(dir);
  const WeightFiles files = WeightFiles::open(dir);
  std::map<std::string, std::int64_t> by_dtype;
  std::int64_t n_stored = 0;
  for (const TensorView* t : files.all()) {
    by_dtype[safetensors_dtype_name(t->dtype)] += t->n_elements();
    n_stored += t->n_elements();
  }
  std::string dtypes;
  for (const auto& [name, n] : by_dtype) dtypes += fmt::format("{}{} ({} params)", dtypes.empty() ? "" : ", ", name, n);
  fmt::print("# model           : {}\n", dir);
  fmt::print("# architecture    : {} ({})\n", c.architecture, c.model_type);
  fmt::print("# layers          : {}, hidden {}, intermediate {}\n", c.n_layers, c.hidden_size, c.intermediate_size);
  fmt::print("# attention       : {} heads, {} kv heads, head_dim {}{}{}\n", c.n_heads, c.n_kv_heads, c.head_dim,
             c.attention_bias ? ", qkv bias" : "", c.qk_norm ? ", q/k norm" : "");
  if (c.n_experts > 0) {
    std::int64_t sparse = 0;
    for (std::int64_t l = 0; l < c.n_layers; ++l) sparse += c.sparse_layer(l) ? 1 : 0;
    fmt::print("# experts         : {} per sparse layer ({} of {} layers), top-{}{}, width {}; {} active parameters "
               "per token\n", c.n_experts, sparse, c.n_layers, c.experts_per_token,
               c.norm_topk_prob ? " renormalised" : "", c.moe_intermediate_size, c.n_active_parameters());
  }
  fmt::print("# rope            : theta {:g}{}\n", c.rope_theta,
             c.rope_scaling.type == RopeScaling::Type::kLlama3   ? ", llama3 scaling"
             : c.rope_scaling.type == RopeScaling::Type::kLinear ? ", linear scaling"
                                                                 : "");
  fmt::print("# vocabulary      : {}{}\n", c.vocab_size, c.tie_word_embeddings ? " (tied embeddings)" : "");
  fmt::print("# parameters      : {} stored, {} implied by the config\n", n_stored, c.n_parameters());
  fmt::print("# dtype           : {}\n", dtypes);
  fmt::print("# fingerprint     : {}\n", model_fingerprint(dir));
  return kExitOk;
}

}  // namespace fssl
