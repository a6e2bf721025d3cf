// What a dishonest or buggy simulated server changes in the tokens it emits (simulate/server.h).
#include <cmath>

#include "fssl/error.h"
#include "simulate/server.h"

namespace fssl {

void adversary_step(Server& server, std::vector<Message>& batch, const std::vector<std::size_t>& active,
                    const at::Tensor& clean_logits, const ProfileNoise& noise, std::vector<std::int64_t>& tokens) {
  Model& model = server.model;
  const std::int64_t vocab = model.config().vocab_size;
  std::vector<std::int64_t> rows;
  for (std::size_t a = 0; a < active.size(); ++a) {
    if (batch[active[a]].adversarial) rows.push_back(static_cast<std::int64_t>(a));
  }
  if (rows.empty()) return;  // the same on every rank: adversarial is drawn from the run seed
  const at::Tensor index = at::tensor(rows, at::kLong);
  const at::Tensor logits = clean_logits.index_select(0, index);
  // None for inverse-CDF profiles.
  const at::Tensor rows_noise = noise.noise.defined() ? noise.noise.index_select(0, index) : at::Tensor();
  const at::Tensor rows_gumbel = noise.gumbel.defined() ? noise.gumbel.index_select(0, index) : at::Tensor();
  const SamplerParams& params = batch[active[static_cast<std::size_t>(rows.front())]].params;
  // Candidates of each row in the order bits index them, and how many bits each row embeds.
  std::vector<std::vector<std::int64_t>> choices(rows.size());
  std::vector<int> bits(rows.size());
  if (server.adversary == Adversary::kRandomTokens) {
    const int b = static_cast<int>(std::floor(std::log2(static_cast<double>(vocab))));
    std::fill(bits.begin(), bits.end(), b);  // the bits are the token id: 2^b <= V
  } else if (server.adversary == Adversary::kTopkStego) {
    const int b = server.o.stego_bits;
    const at::Tensor top = global_top_ids(logits, std::int64_t{1} << b, model.communicator());
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const at::Tensor row = top[static_cast<std::int64_t>(r)].contiguous();
      choices[r].assign(row.data_ptr<std::int64_t>(), row.data_ptr<std::int64_t>() + row.numel());
      bits[r] = b;
    }
  } else {
    choices = admissible_sets(logits, rows_noise, params.greedy() ? at::Tensor() : rows_gumbel, params,
                              model.vocab_shard(), server.o.stego_margin, model.communicator());
    for (std::size_t r = 0; r < rows.size(); ++r) {
      bits[r] = static_cast<int>(std::floor(std::log2(static_cast<double>(choices[r].size()))));
    }
  }
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto a = static_cast<std::size_t>(rows[r]);
    Message& m = batch[active[a]];
    const std::uint64_t value = server.payload->read(m.payload_next, bits[r]);
    tokens[a] = choices[r].empty() ? static_cast<std::int64_t>(value) : choices[r][value];
    if (bits[r] > 0) {
      m.positions.push_back(static_cast<std::int64_t>(m.record.output.size()));
      m.bits_at.push_back(bits[r]);
      m.payload_next += static_cast<std::uint64_t>(bits[r]);
    }
  }
}

void buggy_processor_step(Server& server, std::vector<Message>& batch, const std::vector<std::size_t>& active,
                          const at::Tensor& logits, std::vector<std::int64_t>& tokens) {
  constexpr std::int64_t kTop = 20;
  const at::Tensor top = global_top_ids(logits, kTop, server.model.communicator());
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  for (std::size_t a = 0; a < active.size(); ++a) {
    const bool fire = coin(server.bug_rng) < 0.01;
    const auto pick = static_cast<std::int64_t>(server.bug_rng() % kTop);  // drawn either way: one stream per run
    if (!fire) continue;
    const std::int64_t forced = top[static_cast<std::int64_t>(a)][pick].item<std::int64_t>();
    if (forced == tokens[a]) continue;  // the bug fired but picked the honest token: no trace to find
    Message& m = batch[active[a]];
    tokens[a] = forced;
    m.forced.push_back(static_cast<std::int64_t>(m.record.output.size()));
  }
}

}  // namespace fssl
