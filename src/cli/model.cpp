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
  CommandSpec spec{"model init", "", "fssl model init --arch llama|qwen2|qwen3 --preset tiny|small|medium --out DIR"};
  po::options_description o("Options");
  ModelInitOptions m;
  o.add_options()
      ("arch", po::value<std::string>(&m.arch)->default_value(m.arch), "llama | qwen2 | qwen3")
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
  std::printf("# model init: %s %s seed %llu -> %s (%lld parameters, %s)\n", m.arch.c_str(), m.preset.c_str(),
              static_cast<unsigned long long>(m.seed), dir.c_str(), static_cast<long long>(c.n_parameters()),
              m.dtype.c_str());
  std::printf("# fingerprint     : %s\n", model_fingerprint(dir).c_str());
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
  std::printf("# model           : %s\n", dir.c_str());
  std::printf("# architecture    : %s (%s)\n", c.architecture.c_str(), c.model_type.c_str());
  std::printf("# layers          : %lld, hidden %lld, intermediate %lld\n", static_cast<long long>(c.n_layers),
              static_cast<long long>(c.hidden_size), static_cast<long long>(c.intermediate_size));
  std::printf("# attention       : %lld heads, %lld kv heads, head_dim %lld%s%s\n", static_cast<long long>(c.n_heads),
              static_cast<long long>(c.n_kv_heads), static_cast<long long>(c.head_dim),
              c.attention_bias ? ", qkv bias" : "", c.qk_norm ? ", q/k norm" : "");
  std::printf("# rope            : theta %g%s\n", c.rope_theta,
              c.rope_scaling.type == RopeScaling::Type::kLlama3   ? ", llama3 scaling"
              : c.rope_scaling.type == RopeScaling::Type::kLinear ? ", linear scaling"
                                                                  : "");
  std::printf("# vocabulary      : %lld%s\n", static_cast<long long>(c.vocab_size),
              c.tie_word_embeddings ? " (tied embeddings)" : "");
  std::printf("# parameters      : %lld stored, %lld implied by the config\n", static_cast<long long>(n_stored),
              static_cast<long long>(c.n_parameters()));
  std::printf("# dtype           : %s\n", dtypes.c_str());
  std::printf("# fingerprint     : %s\n", model_fingerprint(dir).c_str());
  return kExitOk;
}

}  // namespace fssl
