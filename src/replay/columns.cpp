// Score tensors (scoring.h, scoring_ipt.h) as the plain columns of an audit result (results.h):
// the one place where the worker side turns tensors into what the coordinator side reads.
#include <ATen/ATen.h>

#include "fssl/verify.h"

namespace fssl {
namespace {

// An undefined tensor (a batch built without that score) gives an empty column.
template <typename T>
std::vector<T> column(const at::Tensor& t, at::ScalarType as) {
  if (!t.defined()) return {};
  const at::Tensor c = t.to(as).contiguous();
  const T* p = c.data_ptr<T>();
  return std::vector<T>(p, p + c.numel());
}

}  // namespace

TokenScores token_scores(const ScoreBatch& b) {
  TokenScores t;
  t.exact = column<std::uint8_t>(b.exact, at::kByte);
  t.tier = column<std::uint8_t>(b.tier, at::kByte);
  t.margin = column<float>(b.margin, at::kFloat);
  t.likelihood = column<float>(b.gmls, at::kFloat);
  t.logit_rank = column<std::int64_t>(b.logit_rank, at::kLong);
  t.gumbel_rank = column<std::int64_t>(b.gumbel_rank, at::kLong);
  t.admissible = column<std::int64_t>(b.admissible, at::kLong);
  t.bits = column<double>(b.bits, at::kDouble);
  return t;
}

TokenScores token_scores(const IptScoreBatch& b) {
  TokenScores t;
  t.exact = column<std::uint8_t>(b.exact, at::kByte);
  t.tier = column<std::uint8_t>(b.tier, at::kByte);
  t.margin = column<float>(b.distance, at::kFloat);
  t.likelihood = column<float>(b.iptls, at::kFloat);
  t.logit_rank = column<std::int64_t>(b.logit_rank, at::kLong);
  t.gumbel_rank.assign(t.exact.size(), -1);
  t.admissible = column<std::int64_t>(b.admissible, at::kLong);
  t.bits = column<double>(b.bits, at::kDouble);
  return t;
}

MessageResult message_result(const MessageRef& ref, const LogRecord& record, const MessageScores& s) {
  if (const auto* u = std::get_if<Unverifiable>(&s)) {
    return message_not_scored(ref, record, MessageStatus::kUnverifiable, u->reason);
  }
  MessageResult out = message_identity(ref, record);
  if (const auto* ipt = std::get_if<IptScoreBatch>(&s)) {
    out.inverse_cdf = true;
    out.tokens = token_scores(*ipt);
  } else {
    out.tokens = token_scores(std::get<ScoreBatch>(s));
  }
  return out;
}

}  // namespace fssl
