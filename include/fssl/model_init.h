// Deterministic random models in the Hugging Face layout (config.json + model.safetensors), for
// tests, demos and benchmarks: `fssl model init`. Weights depend only on (arch, preset, seed):
// each tensor draws from its own std::mt19937_64 stream seeded by SHA-256(seed, name) with a
// hand-written Box-Muller transform, so no library version changes them.
#pragma once

#include <cstdint>
#include <string>

#include "fssl/model_config.h"

namespace fssl {

struct ModelInitOptions {
  std::string arch = "llama";    // llama | qwen2 | qwen3 | qwen3-moe | mixtral (MoE: 8 experts, top-2)
  std::string preset = "tiny";   // tiny (2 layers, hidden 64, V 512) | small (4, 256, 4096) | medium (8, 512, 32000)
  std::uint64_t seed = 0;
  std::string dtype = "f32";     // f32 | bf16 weights on disk
};

// The config a preset describes (architecture fields only).
ModelConfig model_init_config(const ModelInitOptions& options);
// Writes DIR/config.json and DIR/model.safetensors (creating DIR). Throws ConfigError on unknown
// arch/preset/dtype, ModelError on I/O failure.
void model_init(const ModelInitOptions& options, const std::string& dir);

}  // namespace fssl
