// Golden scores from tests/data/scoring/generate_scoring_golden.py (a naive per-token torch
// implementation of vLLM's filters and the FSSL formulas) and a checker that runs fssl's
// vocab-parallel scoring on this rank's shard of each case.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <nlohmann/json.hpp>

#include "fssl/safetensors.h"
#include "fssl/scoring.h"
#include "fssl/scoring_ipt.h"

namespace fssl::test {

inline at::Tensor golden_tensor(const SafetensorsFile& f, const std::string& name) {
  const TensorView* t = f.find(name);
  EXPECT_NE(t, nullptr) << name;
  at::ScalarType type = t->dtype == SafetensorsDtype::kF32 ? at::kFloat
                        : t->dtype == SafetensorsDtype::kF64 ? at::kDouble : at::kLong;
  return at::from_blob(const_cast<std::uint8_t*>(t->data), t->shape, type).clone();
}

// This rank's columns of full-vocabulary rows [n, V], padded like Model::logits_shard: [n, Vp]
// with `pad` past the end; *begin receives the shard's first global id.
inline at::Tensor golden_shard(const at::Tensor& rows, float pad, Communicator& comm, std::int64_t* begin) {
  const std::int64_t n = rows.size(0), V = rows.size(1), t = comm.world_size();
  const std::int64_t vp = (V + t - 1) / t;
  *begin = comm.rank() * vp;
  const std::int64_t valid = std::max<std::int64_t>(0, std::min(vp, V - *begin));
  at::Tensor shard = at::full({n, vp}, pad);
  shard.narrow(1, 0, valid).copy_(rows.narrow(1, *begin, valid));
  return shard;
}

// The VocabShard of a golden_shard result.
inline VocabShard golden_vocab(const at::Tensor& shard, std::int64_t begin, std::int64_t V) {
  const std::int64_t vp = shard.size(1);
  return {begin, vp, std::max<std::int64_t>(0, std::min(vp, V - begin)), V};
}

// The sampler parameters of a golden case.
inline SamplerParams golden_params(const nlohmann::json& c) {
  SamplerParams params{c["temperature"].get<float>(), c["top_k"].get<std::int32_t>(), c["top_p"].get<float>(),
                       c["min_p"].get<float>()};
  params.min_p_last = c.value("min_p_last", false);
  return params;
}

using GoldenScorer = std::function<ScoreBatch(const at::Tensor& logits, const at::Tensor& noise,
                                              const at::Tensor& claimed, const SamplerParams& params,
                                              const VocabShard& vocab, const ScoreConfig& config, Communicator& comm)>;

// Scores every golden case on this rank's vocabulary shard (with `scorer`, score_gumbel_rows by
// default) and compares with the naive results.
inline void check_scoring_golden(Communicator& comm, const GoldenScorer& scorer = {}) {
  SafetensorsFile f = SafetensorsFile::open(std::string(FSSL_TEST_DATA_DIR) + "/scoring/golden.safetensors");
  const auto& meta = f.metadata();
  ScoreConfig config;
  config.sigmas = nlohmann::json::parse(meta.at("sigmas")).get<std::vector<double>>();
  config.margin_grid = nlohmann::json::parse(meta.at("margin_grid")).get<std::vector<double>>();
  config.margin_threshold = std::stod(meta.at("margin_threshold"));
  config.rank_cutoff = std::stoll(meta.at("rank_cutoff"));
  const nlohmann::json cases = nlohmann::json::parse(meta.at("cases"));
  const int t = comm.world_size();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string p = "case" + std::to_string(i) + ".";
    const std::string name = cases[i]["name"];
    SCOPED_TRACE(name + " at TP " + std::to_string(t));
    const SamplerParams params = golden_params(cases[i]);
    at::Tensor logits = golden_tensor(f, p + "logits");
    const std::int64_t V = logits.size(1);
    std::int64_t begin = 0;
    at::Tensor l_shard = golden_shard(logits, -std::numeric_limits<float>::infinity(), comm, &begin);
    at::Tensor e_shard = golden_shard(golden_tensor(f, p + "noise"), 1.0f, comm, &begin);
    const at::Tensor claimed = golden_tensor(f, p + "claimed");
    const VocabShard vocab = golden_vocab(l_shard, begin, V);
    ScoreBatch s = scorer ? scorer(l_shard, e_shard, claimed, params, vocab, config, comm)
                          : score_gumbel_rows(l_shard, e_shard, claimed, params, vocab, config, comm);
    EXPECT_TRUE(at::equal(s.exact.to(at::kLong), golden_tensor(f, p + "exact")));
    at::Tensor margin = golden_tensor(f, p + "margin");
    EXPECT_TRUE(at::equal(margin.isinf(), s.margin.isinf()));
    at::Tensor finite = margin.isfinite();
    const double margin_diff = (s.margin.masked_select(finite) - margin.masked_select(finite)).abs().max().item<double>();
    EXPECT_LT(margin_diff, 1e-6) << "max |margin diff|";
    at::Tensor gmls = golden_tensor(f, p + "gmls");
    at::Tensor gfinite = gmls.isfinite();
    EXPECT_TRUE(at::equal(gfinite, s.gmls.isfinite()));
    const double gmls_rel = ((s.gmls.masked_select(gfinite) - gmls.masked_select(gfinite)).abs() /
                             gmls.masked_select(gfinite).abs().clamp_min(1.0)).max().item<double>();
    EXPECT_LT(gmls_rel, 1e-6) << "max relative GM-LS diff";
    EXPECT_LT((s.prob - golden_tensor(f, p + "prob")).abs().max().item<double>(), 1e-6);
    EXPECT_TRUE(at::equal(s.logit_rank, golden_tensor(f, p + "logit_rank")));
    EXPECT_TRUE(at::equal(s.gumbel_rank, golden_tensor(f, p + "gumbel_rank")));
    EXPECT_TRUE(at::equal(s.admissible, golden_tensor(f, p + "admissible")));
    EXPECT_TRUE(at::equal(s.tier.to(at::kLong), golden_tensor(f, p + "tier")));
    EXPECT_LT((s.bits - golden_tensor(f, p + "bits")).abs().max().item<double>(), 1e-9);
  }
}

// IPT-LS golden (tests/data/scoring/generate_ipt_golden.py): llama.cpp's dist chain per token.
inline void check_ipt_golden(Communicator& comm) {
  SafetensorsFile f = SafetensorsFile::open(std::string(FSSL_TEST_DATA_DIR) + "/scoring/ipt_golden.safetensors");
  const auto& meta = f.metadata();
  IptConfig config;
  config.sigmas = nlohmann::json::parse(meta.at("sigmas")).get<std::vector<double>>();
  config.distance_grid = nlohmann::json::parse(meta.at("distance_grid")).get<std::vector<double>>();
  config.distance_threshold = std::stod(meta.at("distance_threshold"));
  config.rank_cutoff = std::stoll(meta.at("rank_cutoff"));
  const nlohmann::json cases = nlohmann::json::parse(meta.at("cases"));
  const int t = comm.world_size();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string p = "ipt" + std::to_string(i) + ".";
    SCOPED_TRACE(cases[i]["name"].get<std::string>() + " at TP " + std::to_string(t));
    const SamplerParams params = golden_params(cases[i]);
    at::Tensor logits = golden_tensor(f, p + "logits");
    const std::int64_t V = logits.size(1);
    std::int64_t begin = 0;
    at::Tensor shard = golden_shard(logits, -std::numeric_limits<float>::infinity(), comm, &begin);
    at::Tensor uniforms = golden_tensor(f, p + "uniforms");
    std::int64_t next = 0;
    auto draw = [&] { return uniforms[next++].item<double>(); };
    IptScoreBatch s = score_ipt_rows(shard, golden_tensor(f, p + "claimed"), params, golden_vocab(shard, begin, V),
                                     false, draw, config, comm);
    EXPECT_TRUE(at::equal(s.exact.to(at::kLong), golden_tensor(f, p + "exact")));
    EXPECT_TRUE(at::equal(s.drew.to(at::kLong), golden_tensor(f, p + "drew")));
    at::Tensor distance = golden_tensor(f, p + "distance");
    EXPECT_TRUE(at::equal(distance.isinf(), s.distance.isinf()));
    at::Tensor fin = distance.isfinite();
    EXPECT_LT((s.distance.masked_select(fin) - distance.masked_select(fin)).abs().max().item<double>(), 1e-12);
    at::Tensor ipt = golden_tensor(f, p + "iptls");
    at::Tensor ifin = ipt.isfinite();
    EXPECT_TRUE(at::equal(ifin, s.iptls.isfinite()));
    EXPECT_LT(((s.iptls.masked_select(ifin) - ipt.masked_select(ifin)).abs() /
               ipt.masked_select(ifin).abs().clamp_min(1.0)).max().item<double>(), 1e-6);
    EXPECT_LT((s.prob - golden_tensor(f, p + "prob")).abs().max().item<double>(), 1e-6);
    EXPECT_TRUE(at::equal(s.logit_rank, golden_tensor(f, p + "logit_rank")));
    EXPECT_TRUE(at::equal(s.admissible, golden_tensor(f, p + "admissible")));
    EXPECT_TRUE(at::equal(s.tier.to(at::kLong), golden_tensor(f, p + "tier")));
    EXPECT_LT((s.bits - golden_tensor(f, p + "bits")).abs().max().item<double>(), 1e-9);
  }
}

}  // namespace fssl::test
