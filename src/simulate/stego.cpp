// Adversary building blocks of the simulated server (stego.h): payload bits, the top tokens, the
// admissible sets, and group quantization for the swapped-model bug mode.
#include "fssl/stego.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include "fssl/error.h"
#include "fssl/gumbel_decision.h"
#include "fssl/margin_model.h"

namespace fssl {
namespace {

const char* const kAdversaryNames[] = {"none", "random-tokens", "topk-stego", "admissible-stego"};
const char* const kBugNames[] = {"none", "buggy-processor", "wrong-temperature", "wrong-seed", "quantized-4bit",
                                 "quantized-8bit", "unlogged-processors"};

template <typename Enum, std::size_t N>
Enum parse_name(const std::string& name, const char* const (&names)[N], const char* what) {
  std::string all;
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<Enum>(i);
    all += (i ? ", " : "") + std::string(names[i]);
  }
  throw ConfigError(fmt::format("unknown {} '{}' (one of: {})", what, name, all));
}

}  // namespace

Adversary adversary_parse(const std::string& name) { return parse_name<Adversary>(name, kAdversaryNames, "adversary"); }
BugMode bug_mode_parse(const std::string& name) { return parse_name<BugMode>(name, kBugNames, "bug mode"); }
const char* adversary_name(Adversary a) { return kAdversaryNames[static_cast<int>(a)]; }
const char* bug_mode_name(BugMode b) { return kBugNames[static_cast<int>(b)]; }

PayloadBits::PayloadBits(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {
  FSSL_CHECK(!bytes_.empty(), ConfigError, "the payload is empty");
}

bool PayloadBits::bit(std::uint64_t i) const {
  const std::uint8_t byte = bytes_[(i / 8) % bytes_.size()];
  return (byte >> (7 - i % 8)) & 1u;
}

std::uint64_t PayloadBits::read(std::uint64_t offset, int n) const {
  std::uint64_t v = 0;
  for (int k = 0; k < n; ++k) v = (v << 1) | static_cast<std::uint64_t>(bit(offset + static_cast<std::uint64_t>(k)));
  return v;
}

std::vector<std::uint8_t> payload_read(const std::string& file, std::size_t max_bytes, bool skip_safetensors_header) {
  std::ifstream in(file, std::ios::binary);
  FSSL_CHECK(in.good(), ConfigError, "{}: cannot open the payload file", file);
  if (skip_safetensors_header) {
    std::uint64_t header = 0;
    in.read(reinterpret_cast<char*>(&header), sizeof header);  // little-endian u64 on every host we build for
    FSSL_CHECK(in.good() && header < (1ull << 27), ConfigError, "{}: not a safetensors file", file);
    in.seekg(static_cast<std::streamoff>(8 + header));
  }
  std::vector<std::uint8_t> bytes(max_bytes);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(max_bytes));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  FSSL_CHECK(!bytes.empty(), ConfigError, "{}: the payload file is empty", file);
  return bytes;
}

at::Tensor global_top_ids(const at::Tensor& logits, std::int64_t k, Communicator& comm) {
  const std::int64_t vp = logits.size(1);
  const at::Tensor all = all_gather_columns(logits, comm);  // column c is global id c (shards start at rank * Vp)
  // A stable descending sort keeps equal logits in id order.
  const at::Tensor order = std::get<1>(all.sort(/*stable=*/true, 1, /*descending=*/true));
  FSSL_CHECK(k <= vp * comm.world_size(), ConfigError, "top {} tokens of a vocabulary of {}", k, vp * comm.world_size());
  return order.narrow(1, 0, k).contiguous();
}

std::vector<std::vector<std::int64_t>> admissible_sets(const at::Tensor& logits, const at::Tensor& noise,
                                                       const at::Tensor& gumbel, const SamplerParams& params,
                                                       const VocabShard& vocab, double delta, Communicator& comm) {
  const std::int64_t n = logits.size(0), vp = logits.size(1);
  const at::Tensor ids = (at::arange(vp, at::kLong) + vocab.begin).expand({n, vp});
  const GumbelDecision d = gumbel_decision(logits, noise, gumbel, ids, params, ServerRule::kMaxPerturbedLogit, comm);
  const MarginModel margins(logits, d, params.temperature, comm);
  const at::Tensor inside = all_gather_columns(margins.admissible(delta, margins.rival_floor(delta)).to(at::kByte), comm);
  const at::Tensor perturbed = all_gather_columns(margins.perturbed(), comm);
  std::vector<std::vector<std::int64_t>> sets(static_cast<std::size_t>(n));
  for (std::int64_t r = 0; r < n; ++r) {
    // Most plausible first: by perturbed logit, then id (a stable sort of ascending ids).
    const at::Tensor members = inside[r].nonzero().squeeze(1);
    const at::Tensor order = std::get<1>(perturbed[r].index_select(0, members).sort(/*stable=*/true, 0, true));
    const at::Tensor sorted = members.index_select(0, order).contiguous();
    sets[static_cast<std::size_t>(r)].assign(sorted.data_ptr<std::int64_t>(),
                                             sorted.data_ptr<std::int64_t>() + sorted.numel());
  }
  return sets;
}

}  // namespace fssl
