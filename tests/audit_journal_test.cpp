// The audit's checkpoint journal and the result encoding it stores: results survive the round
// trip bit for bit (NaN, -0, infinities), a reopened journal returns every complete entry, a
// torn tail (a kill mid-write) is cut off and appending continues, and a journal of another audit
// is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "audit/journal.h"
#include "fssl/error.h"
#include "test_util.h"

namespace fssl {
namespace {

MessageResult scored(std::uint64_t id, std::size_t n) {
  MessageResult r;
  r.ref = {static_cast<std::uint32_t>(id % 3), id * 7};
  r.message_id = id;
  r.timestamp_us = -5 + static_cast<std::int64_t>(id);
  r.server = "srv-" + std::to_string(id);
  r.model = "tiny";
  r.profile = "fssl-philox";
  r.prompt_tokens = 3 + id;
  for (std::size_t t = 0; t < n; ++t) {
    r.tokens.exact.push_back(t % 2);
    r.tokens.tier.push_back(static_cast<std::uint8_t>(t % 3));
    r.tokens.margin.push_back(t == 0 ? -0.0f : t == 1 ? std::numeric_limits<float>::quiet_NaN() : 0.1f * static_cast<float>(t));
    r.tokens.likelihood.push_back(t == 2 ? -std::numeric_limits<float>::infinity() : -0.5f);
    r.tokens.likelihood.push_back(-1e-30f);
    r.tokens.logit_rank.push_back(static_cast<std::int64_t>(t));
    r.tokens.gumbel_rank.push_back(t == 3 ? -1 : static_cast<std::int64_t>(t));
    r.tokens.admissible.push_back(1);
    r.tokens.admissible.push_back(static_cast<std::int64_t>(t + 1));
    r.tokens.bits.push_back(std::log2(static_cast<double>(t + 1)));
  }
  return r;
}

// Bitwise equality of everything a result holds (== on floats would fail on NaN and pass -0 == 0).
void expect_same(const MessageResult& a, const MessageResult& b) {
  EXPECT_EQ(a.ref, b.ref);
  EXPECT_EQ(a.message_id, b.message_id);
  EXPECT_EQ(a.timestamp_us, b.timestamp_us);
  EXPECT_EQ(a.server, b.server);
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.profile, b.profile);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.inverse_cdf, b.inverse_cdf);
  EXPECT_EQ(a.prompt_tokens, b.prompt_tokens);
  EXPECT_EQ(a.tokens.exact, b.tokens.exact);
  EXPECT_EQ(a.tokens.tier, b.tokens.tier);
  ASSERT_EQ(a.tokens.margin.size(), b.tokens.margin.size());
  EXPECT_EQ(std::memcmp(a.tokens.margin.data(), b.tokens.margin.data(), a.tokens.margin.size() * 4), 0);
  ASSERT_EQ(a.tokens.likelihood.size(), b.tokens.likelihood.size());
  EXPECT_EQ(std::memcmp(a.tokens.likelihood.data(), b.tokens.likelihood.data(), a.tokens.likelihood.size() * 4), 0);
  EXPECT_EQ(a.tokens.logit_rank, b.tokens.logit_rank);
  EXPECT_EQ(a.tokens.gumbel_rank, b.tokens.gumbel_rank);
  EXPECT_EQ(a.tokens.admissible, b.tokens.admissible);
  ASSERT_EQ(a.tokens.bits.size(), b.tokens.bits.size());
  EXPECT_EQ(std::memcmp(a.tokens.bits.data(), b.tokens.bits.data(), a.tokens.bits.size() * 8), 0);
}

std::vector<MessageResult> batch(std::uint64_t first) {
  MessageResult bad = message_not_scored({1, 2}, LogRecord{}, MessageStatus::kQuarantined, "shard-000001.h5 unreadable");
  return {scored(first, 5), bad, scored(first + 1, 0)};
}

TEST(AuditResult, BytesRoundTripBitForBit) {
  const std::vector<MessageResult> in = batch(10);
  const std::vector<MessageResult> out = results_from_bytes(results_to_bytes(in));
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) expect_same(in[i], out[i]);
  std::vector<std::uint8_t> cut = results_to_bytes(in);
  cut.resize(cut.size() / 2);
  EXPECT_THROW(results_from_bytes(cut), CommError);
}

TEST(AuditJournal, ReopenReturnsEntriesAndCutsATornTail) {
  test::TempDir dir;
  const std::string path = dir / "journal.fssl";
  {
    AuditJournal j = AuditJournal::open(path, "audit A");
    EXPECT_TRUE(j.loaded().empty());
    j.append(batch_report_encode({4, 0.0, batch(1)}));
    j.append(batch_report_encode({0, 0.0, batch(20)}));
  }
  const auto intact = std::filesystem::file_size(path);
  {
    // A kill in the middle of a write: half of a third entry's frame.
    AuditJournal j = AuditJournal::open(path, "audit A");
    j.append(batch_report_encode({9, 0.0, batch(40)}));
  }
  std::filesystem::resize_file(path, intact + (std::filesystem::file_size(path) - intact) / 2);
  {
    AuditJournal j = AuditJournal::open(path, "audit A");
    ASSERT_EQ(j.loaded().size(), 2u);
    EXPECT_GT(j.torn_bytes(), 0u);
    EXPECT_EQ(j.loaded()[0].batch_id, 4u);
    EXPECT_EQ(j.loaded()[1].batch_id, 0u);
    for (std::size_t i = 0; i < 3; ++i) expect_same(j.loaded()[1].results[i], batch(20)[i]);
    EXPECT_EQ(std::filesystem::file_size(path), intact);  // the torn bytes are gone from the file
    j.append(batch_report_encode({9, 0.0, batch(40)}));
  }
  AuditJournal j = AuditJournal::open(path, "audit A");
  ASSERT_EQ(j.loaded().size(), 3u);
  EXPECT_EQ(j.torn_bytes(), 0u);
  EXPECT_EQ(j.loaded()[2].batch_id, 9u);
  expect_same(j.loaded()[2].results[0], batch(40)[0]);
}

TEST(AuditJournal, AFlippedByteLosesOnlyTheEntriesFromThere) {
  test::TempDir dir;
  const std::string path = dir / "journal.fssl";
  std::uintmax_t after_first = 0;
  {
    AuditJournal j = AuditJournal::open(path, "audit A");
    j.append(batch_report_encode({0, 0.0, batch(1)}));
    j.sync();
    after_first = std::filesystem::file_size(path);
    j.append(batch_report_encode({1, 0.0, batch(2)}));
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(after_first + 60));
    f.put('\x5a');
  }
  AuditJournal j = AuditJournal::open(path, "audit A");
  ASSERT_EQ(j.loaded().size(), 1u);
  EXPECT_EQ(j.loaded()[0].batch_id, 0u);
}

TEST(AuditJournal, RefusesTheJournalOfAnotherAudit) {
  test::TempDir dir;
  const std::string path = dir / "journal.fssl";
  { AuditJournal::open(path, "audit A").append(batch_report_encode({0, 0.0, batch(1)})); }
  try {
    AuditJournal::open(path, "audit B");
    FAIL() << "another audit's journal was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("another audit"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fssl
