// Logits processors against golden rows from independent sources (tests/data/processors/README.md):
// transformers' own processor list, a naive per-token PyTorch version of vLLM V1's and V2's order,
// and llama.cpp's own samplers compiled from its source. fssl must produce every processed row bit
// for bit, on the whole vocabulary and on every rank's shard at TP = 2, 3 and 4 (each shard alone,
// rows in chunks, as the verifier runs them), and keep the same tokens through the sampler filters.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fssl/comm.h"
#include "fssl/digest.h"
#include "fssl/processors.h"
#include "fssl/record_json.h"
#include "fssl/sampler.h"
#include "golden_file.h"

namespace fssl {
namespace {

using test::hex_u32;

std::uint64_t splitmix64(std::uint64_t x) {
  std::uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

struct GoldenRow {
  std::string sha256;
  std::string changed;  // the generator's first changed columns, for the failure message
  bool has_kept = false;
  std::vector<std::int64_t> kept;
};

struct GoldenCase {
  std::string name, engine;
  std::int64_t vocab = 0;
  std::uint64_t seed = 0;
  SamplerParams params;
  LogitsProcessors processors;
  std::vector<std::int32_t> prompt, output;
  std::vector<std::tuple<std::int64_t, std::int64_t, float>> force;  // (row or -1, column, value)
  std::vector<GoldenRow> rows;
};

std::vector<std::int32_t> ids_of(const std::vector<std::string>& f) {
  std::vector<std::int32_t> out;
  for (std::size_t k = 1; k < f.size(); ++k) out.push_back(std::stoi(f[k]));
  return out;
}

std::vector<GoldenCase> load_cases() {
  std::vector<GoldenCase> cases;
  for (const auto& f : test::read_records(std::string(FSSL_TEST_DATA_DIR) + "/processors/processors_golden.txt")) {
    if (f[0] == "case") {
      GoldenCase c;
      c.name = f[1];
      c.engine = f[2];
      c.vocab = std::stoll(f[3]);
      c.seed = std::stoull(f[4]);
      c.params = {std::stof(f[5]), std::stoi(f[6]), std::stof(f[7]), std::stof(f[8])};
      c.params.min_p_last = c.engine == "hf";
      cases.push_back(c);
    } else if (f[0] == "processors") {
      processors_from_json(nlohmann::json::parse(f[1]), {}, &cases.back().processors);
    } else if (f[0] == "prompt") {
      cases.back().prompt = ids_of(f);
    } else if (f[0] == "output") {
      cases.back().output = ids_of(f);
    } else if (f[0] == "force") {
      for (std::size_t k = 1; k < f.size(); ++k) {
        const std::size_t a = f[k].find(':'), b = f[k].rfind(':');
        cases.back().force.emplace_back(std::stoll(f[k].substr(0, a)), std::stoll(f[k].substr(a + 1, b - a - 1)),
                                        test::float_of(hex_u32(f[k].substr(b + 1))));
      }
    } else if (f[0] == "row") {
      GoldenRow row;
      for (std::size_t k = 2; k < f.size(); ++k) {
        if (f[k].rfind("sha256=", 0) == 0) {
          row.sha256 = f[k].substr(7);
        } else if (f[k].rfind("kept=", 0) == 0) {
          row.has_kept = true;
          std::stringstream list(f[k].substr(5));
          for (std::string id; std::getline(list, id, ',');) row.kept.push_back(std::stoll(id));
        } else {
          row.changed += f[k] + " ";
        }
      }
      cases.back().rows.push_back(row);
    }
  }
  return cases;
}

ProcessorRules rules_of(const std::string& engine) {
  ProcessorRules r;
  if (engine == "hf") r.engine = ProcessorEngine::kTransformers;
  if (engine == "llama") r.engine = ProcessorEngine::kLlamacpp;
  if (engine.rfind("vllm-v2", 0) == 0) {
    r.engine = ProcessorEngine::kVllmV2;
    r.fused_frequency = engine != "vllm-v2-unfused";
    r.min_tokens_late = engine == "vllm-v2-late";
  }
  return r;
}

// gen_processors_golden.py's raw rows: 24-bit multiples of 2^-20 in [-8, 8), exact in float32.
at::Tensor raw_rows(const GoldenCase& c) {
  const auto n = static_cast<std::int64_t>(c.output.size());
  at::Tensor rows = at::empty({n, c.vocab}, at::kFloat);
  float* out = rows.data_ptr<float>();
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t i = 0; i < c.vocab; ++i) {
      const std::uint64_t h = splitmix64((c.seed << 32) + (static_cast<std::uint64_t>(j) << 16) + static_cast<std::uint64_t>(i));
      out[j * c.vocab + i] = static_cast<float>(static_cast<std::int64_t>(h >> 40) - (1 << 23)) / static_cast<float>(1 << 20);
    }
    for (const auto& [fj, fi, value] : c.force) {
      if (fj == j || fj == -1) out[j * c.vocab + fi] = value;
    }
  }
  return rows;
}

// The case's rows processed on each rank's shard of a TP group of `ranks`, `chunk` rows per call.
at::Tensor processed_at_tp(const GoldenCase& c, const at::Tensor& raw, int ranks, std::int64_t chunk) {
  const MessageProcessors processors(rules_of(c.engine), c.processors, c.prompt, c.output, c.vocab);
  const std::int64_t n = raw.size(0);
  at::Tensor full = at::empty_like(raw);
  for (int rank = 0; rank < ranks; ++rank) {
    const VocabShard shard = VocabShard::of_rank(c.vocab, rank, ranks);
    at::Tensor cols = at::full({n, shard.size}, -std::numeric_limits<float>::infinity(), at::kFloat);
    cols.narrow(1, 0, shard.valid).copy_(raw.narrow(1, shard.begin, shard.valid));
    for (std::int64_t first = 0; first < n; first += chunk) {
      at::Tensor part = cols.narrow(0, first, std::min(chunk, n - first)).contiguous();
      processors.apply(part, first, shard);
      cols.narrow(0, first, part.size(0)).copy_(part);
    }
    full.narrow(1, shard.begin, shard.valid).copy_(cols.narrow(1, 0, shard.valid));
  }
  return full;
}

std::string row_sha256(const at::Tensor& row) {
  const at::Tensor r = row.contiguous();
  const Digest32 d = sha256(std::string_view(reinterpret_cast<const char*>(r.data_ptr<float>()),
                                             static_cast<std::size_t>(r.numel()) * sizeof(float)));
  return hex_encode(d.data(), d.size());
}

// The first columns where fssl's row differs from the raw one (id:bits), as the golden lists them.
std::string changed_columns(const at::Tensor& raw, const at::Tensor& row) {
  std::string out;
  int shown = 0;
  for (std::int64_t i = 0; i < row.size(0) && shown < 16; ++i) {
    const std::uint32_t a = test::bits_of(raw[i].item<float>()), b = test::bits_of(row[i].item<float>());
    if (a != b) {
      out += fmt::format("{}:{:08x} ", i, b);
      ++shown;
    }
  }
  return out;
}

TEST(ProcessorsGolden, EveryEngineRowMatchesAtEveryTensorParallelSize) {
  const std::vector<GoldenCase> cases = load_cases();
  ASSERT_GE(cases.size(), 30u);
  std::map<std::string, int> per_engine;
  for (const GoldenCase& c : cases) {
    ASSERT_EQ(c.rows.size(), c.output.size()) << c.name;
    const at::Tensor raw = raw_rows(c);
    for (int ranks = 1; ranks <= 4; ++ranks) {
      const at::Tensor got = processed_at_tp(c, raw, ranks, ranks == 1 ? raw.size(0) : ranks);
      for (std::size_t j = 0; j < c.rows.size(); ++j) {
        const auto row = static_cast<std::int64_t>(j);
        EXPECT_EQ(row_sha256(got[row]), c.rows[j].sha256)
            << c.name << " row " << j << " at TP " << ranks << "\n  golden changes: " << c.rows[j].changed
            << "\n  fssl changes:   " << changed_columns(raw[row], got[row]);
      }
    }
    ++per_engine[c.engine];
  }
  for (const char* engine : {"hf", "vllm-v1", "vllm-v2", "vllm-v2-unfused", "vllm-v2-late", "llama"}) {
    EXPECT_GT(per_engine[engine], 0) << engine << " has no golden case";
  }
}

TEST(ProcessorsGolden, FiltersKeepTheEngineTokensOfTheProcessedRows) {
  auto comm = comm_local();
  int checked = 0;
  for (const GoldenCase& c : load_cases()) {
    if (c.rows.empty() || !c.rows.front().has_kept) continue;
    const at::Tensor raw = raw_rows(c);
    const at::Tensor processed = processed_at_tp(c, raw, 1, raw.size(0));
    const FilteredRows f = sampler_filter(processed, c.params, *comm);
    for (std::size_t j = 0; j < c.rows.size(); ++j) {
      std::vector<std::int64_t> kept;
      const at::Tensor s = f.scaled[static_cast<std::int64_t>(j)];
      for (std::int64_t i = 0; i < c.vocab; ++i) {
        if (s[i].item<float>() != -std::numeric_limits<float>::infinity()) kept.push_back(i);
      }
      EXPECT_EQ(kept, c.rows[j].kept) << c.name << " row " << j;
      ++checked;
    }
  }
  EXPECT_GT(checked, 50);
}

// The processed rows differ from the raw ones where the cases say they must: the golden would
// otherwise pass for a no-op (a guard on the golden file itself).
TEST(ProcessorsGolden, EveryCaseChangesItsRows) {
  for (const GoldenCase& c : load_cases()) {
    bool any = false;
    for (const GoldenRow& r : c.rows) any = any || !r.changed.empty();
    EXPECT_TRUE(any || c.name.find("window0") != std::string::npos) << c.name;
  }
}

}  // namespace
}  // namespace fssl
