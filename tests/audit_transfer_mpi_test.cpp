// Records broadcast inside a worker group (audit_transfer.h): every rank receives exactly what the
// leader read, extreme field values included, and malformed bytes are refused.
#include <gtest/gtest.h>

#include <limits>

#include "fssl/audit_transfer.h"
#include "fssl/error.h"

namespace fssl {
namespace {

std::vector<LogRecord> sample_records() {
  std::vector<LogRecord> out;
  for (int i = 0; i < 3; ++i) {
    LogRecord r;
    r.message_id = std::numeric_limits<std::uint64_t>::max() - static_cast<std::uint64_t>(i);
    r.timestamp_us = -1764115200000000 + i;
    r.seed = 0xFFFFFFFFFFFFFFFFull - 7 * static_cast<std::uint64_t>(i);
    r.sampler = {"vllm-cuda:sm_count=132", 0.7f, 50, 0.95f, 0.05f, {}};
    r.model = {"llama-ü", "ab12", 128256, "tok"};
    r.server = "srv-" + std::to_string(i);
    for (int t = 0; t < 1000 * (i + 1); ++t) r.prompt.push_back((t * 7919) % 128256);
    r.output = {0, 128255, 42};
    out.push_back(r);
  }
  return out;
}

void expect_same(const LogRecord& a, const LogRecord& b) {
  EXPECT_EQ(a.message_id, b.message_id);
  EXPECT_EQ(a.timestamp_us, b.timestamp_us);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.sampler.profile, b.sampler.profile);
  EXPECT_EQ(a.sampler.temperature, b.sampler.temperature);  // exact: float -> CBOR -> float
  EXPECT_EQ(a.sampler.top_k, b.sampler.top_k);
  EXPECT_EQ(a.sampler.top_p, b.sampler.top_p);
  EXPECT_EQ(a.sampler.min_p, b.sampler.min_p);
  EXPECT_TRUE(a.model == b.model);
  EXPECT_EQ(a.server, b.server);
  EXPECT_EQ(a.prompt, b.prompt);
  EXPECT_EQ(a.output, b.output);
}

TEST(AuditTransfer, EveryRankReceivesTheLeadersRecords) {
  MpiComm world;
  const std::vector<LogRecord> original = sample_records();
  // Only the root has them; the others pass nothing.
  const std::vector<LogRecord> got = broadcast_records(world, world.rank() == 0 ? original : std::vector<LogRecord>{});
  ASSERT_EQ(got.size(), original.size());
  for (std::size_t i = 0; i < got.size(); ++i) expect_same(got[i], original[i]);
  EXPECT_TRUE(broadcast_records(world, {}).empty());
}

TEST(AuditTransfer, MalformedBytesAreRefused) {
  std::vector<std::uint8_t> bytes = records_to_bytes(sample_records());
  bytes.resize(bytes.size() / 2);
  EXPECT_THROW(records_from_bytes(bytes), CommError);
  EXPECT_THROW(records_from_bytes({0x01, 0x02}), CommError);
}

}  // namespace
}  // namespace fssl
