// Per-message audit results and batch reports, and their CBOR form (results.h).
#include "fssl/results.h"

#include <nlohmann/json.hpp>

#include <cstring>

#include "fssl/error.h"

namespace fssl {

MessageResult message_identity(const MessageRef& ref, const LogRecord& r) {
  MessageResult out;
  out.ref = ref;
  out.message_id = r.message_id;
  out.timestamp_us = r.timestamp_us;
  out.server = r.server;
  out.model = r.model.name;
  out.profile = r.sampler.profile;
  out.prompt_tokens = r.prompt.size();
  return out;
}

const char* message_status_name(MessageStatus status) {
  switch (status) {
    case MessageStatus::kScored: return "scored";
    case MessageStatus::kUnverifiable: return "unverifiable";
    case MessageStatus::kQuarantined: return "quarantined";
  }
  return "unknown";
}

MessageResult message_not_scored(const MessageRef& ref, const LogRecord& record, MessageStatus status,
                                 const std::string& reason) {
  MessageResult out = message_identity(ref, record);
  out.status = status;
  out.reason = reason;
  return out;
}

std::vector<std::uint8_t> results_to_bytes(const std::vector<MessageResult>& results) {
  nlohmann::json all = nlohmann::json::array();
  for (const MessageResult& r : results) {
    const TokenScores& t = r.tokens;
    // Floats travel as their bit patterns: CBOR would widen them to doubles and back exactly,
    // but NaN payloads and -0 survive only this way, and a resumed audit must compare bit for bit.
    std::vector<std::uint32_t> margin_bits(t.margin.size()), likelihood_bits(t.likelihood.size());
    std::memcpy(margin_bits.data(), t.margin.data(), t.margin.size() * sizeof(float));
    std::memcpy(likelihood_bits.data(), t.likelihood.data(), t.likelihood.size() * sizeof(float));
    std::vector<std::uint64_t> bits_bits(t.bits.size());
    std::memcpy(bits_bits.data(), t.bits.data(), t.bits.size() * sizeof(double));
    all.push_back({{"ref", {r.ref.shard, r.ref.row}},
                   {"id", r.message_id},
                   {"ts", r.timestamp_us},
                   {"who", {r.server, r.model, r.profile}},
                   {"status", static_cast<int>(r.status)},
                   {"reason", r.reason},
                   {"ipt", r.inverse_cdf},
                   {"prompt", r.prompt_tokens},
                   {"exact", nlohmann::json::binary(t.exact)},
                   {"tier", nlohmann::json::binary(t.tier)},
                   {"margin", margin_bits},
                   {"ls", likelihood_bits},
                   {"lrank", t.logit_rank},
                   {"grank", t.gumbel_rank},
                   {"adm", t.admissible},
                   {"bits", bits_bits}});
  }
  return nlohmann::json::to_cbor(all);
}

std::vector<MessageResult> results_from_bytes(const std::vector<std::uint8_t>& bytes) {
  std::vector<MessageResult> out;
  try {
    for (const nlohmann::json& j : nlohmann::json::from_cbor(bytes)) {
      MessageResult r;
      r.ref = {j.at("ref").at(0).get<std::uint32_t>(), j.at("ref").at(1).get<std::uint64_t>()};
      r.message_id = j.at("id").get<std::uint64_t>();
      r.timestamp_us = j.at("ts").get<std::int64_t>();
      r.server = j.at("who").at(0).get<std::string>();
      r.model = j.at("who").at(1).get<std::string>();
      r.profile = j.at("who").at(2).get<std::string>();
      const int status = j.at("status").get<int>();
      FSSL_CHECK(status >= 0 && status <= 2, CommError, "message status {} out of range", status);
      r.status = static_cast<MessageStatus>(status);
      r.reason = j.at("reason").get<std::string>();
      r.inverse_cdf = j.at("ipt").get<bool>();
      r.prompt_tokens = j.at("prompt").get<std::uint64_t>();
      TokenScores& t = r.tokens;
      t.exact = j.at("exact").get_binary();
      t.tier = j.at("tier").get_binary();
      const auto margin_bits = j.at("margin").get<std::vector<std::uint32_t>>();
      const auto likelihood_bits = j.at("ls").get<std::vector<std::uint32_t>>();
      const auto bits_bits = j.at("bits").get<std::vector<std::uint64_t>>();
      t.margin.resize(margin_bits.size());
      t.likelihood.resize(likelihood_bits.size());
      t.bits.resize(bits_bits.size());
      std::memcpy(t.margin.data(), margin_bits.data(), margin_bits.size() * sizeof(float));
      std::memcpy(t.likelihood.data(), likelihood_bits.data(), likelihood_bits.size() * sizeof(float));
      std::memcpy(t.bits.data(), bits_bits.data(), bits_bits.size() * sizeof(double));
      t.logit_rank = j.at("lrank").get<std::vector<std::int64_t>>();
      t.gumbel_rank = j.at("grank").get<std::vector<std::int64_t>>();
      t.admissible = j.at("adm").get<std::vector<std::int64_t>>();
      const std::size_t n = t.exact.size();
      FSSL_CHECK(t.tier.size() == n && t.margin.size() == n && t.logit_rank.size() == n && t.gumbel_rank.size() == n &&
                     t.bits.size() == n,
                 CommError, "message {}: token columns of different lengths", r.message_id);
      out.push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception& e) {
    FSSL_THROW(CommError, "malformed audit results of {} bytes: {}", bytes.size(), e.what());
  }
  return out;
}

std::vector<std::uint8_t> batch_report_encode(const BatchReport& report) {
  const nlohmann::json j = {{"batch", report.batch_id},
                            {"seconds", report.seconds},
                            {"results", nlohmann::json::binary(results_to_bytes(report.results))}};
  return nlohmann::json::to_cbor(j);
}

BatchReport batch_report_decode(const std::vector<std::uint8_t>& bytes) {
  BatchReport out;
  try {
    const nlohmann::json j = nlohmann::json::from_cbor(bytes);
    out.batch_id = j.at("batch").get<std::uint64_t>();
    out.seconds = j.at("seconds").get<double>();
    out.results = results_from_bytes(j.at("results").get_binary());
  } catch (const nlohmann::json::exception& e) {
    FSSL_THROW(CommError, "malformed batch report of {} bytes: {}", bytes.size(), e.what());
  }
  return out;
}

}  // namespace fssl
