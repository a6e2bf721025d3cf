// Archive writer and readers: round trips, batching, shard rolling, reopening, locking and
// crash safety (a writer killed with SIGKILL leaves a valid archive).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "archive_tamper.h"
#include "fssl/archive.h"
#include "archive/format.h"
#include "test_util.h"

namespace fssl {
namespace {

using test::TempDir;
using test::test_record;

void expect_same_record(const LogRecord& want, const LogRecord& got) {
  EXPECT_EQ(want.message_id, got.message_id);
  EXPECT_EQ(want.timestamp_us, got.timestamp_us);
  EXPECT_EQ(want.seed, got.seed);
  EXPECT_EQ(want.sampler.profile, got.sampler.profile);
  EXPECT_EQ(want.sampler.temperature, got.sampler.temperature);
  EXPECT_EQ(want.sampler.top_k, got.sampler.top_k);
  EXPECT_EQ(want.sampler.top_p, got.sampler.top_p);
  EXPECT_EQ(want.sampler.min_p, got.sampler.min_p);
  EXPECT_TRUE(want.model == got.model) << want.model.name << " vs " << got.model.name;
  EXPECT_EQ(want.server, got.server);
  EXPECT_EQ(want.prompt, got.prompt);
  EXPECT_EQ(want.output, got.output);
  EXPECT_TRUE(want.sampler.processors == got.sampler.processors) << "message " << want.message_id;
  EXPECT_TRUE(want.engine == got.engine) << want.engine.name << " " << want.engine.version << " vs " << got.engine.name;
}

TEST(Archive, RoundTripKeepsEveryFieldAcrossShards) {
  TempDir dir;
  test::write_test_archive(dir.path(), 50, 16);
  ArchiveReader reader = ArchiveReader::open(dir.path());
  const Manifest& m = reader.manifest();
  ASSERT_EQ(m.shards.size(), 4u);  // 16 + 16 + 16 + 2
  EXPECT_EQ(m.shards[3].n_messages, 2u);
  std::uint64_t i = 0;
  for (std::uint32_t k = 0; k < m.shards.size(); ++k) {
    for (std::uint64_t row = 0; row < m.shards[k].n_messages; ++row, ++i) {
      expect_same_record(test_record(i), reader.read({k, row}));
    }
  }
  EXPECT_EQ(i, 50u);
}

// Format v1 shards (no processor datasets, no engine table) stay readable and valid: they mean "no
// processors". A v1 shard is made by downgrading one whose records carry none; records with
// processors cannot be stored in v1, and dropping them breaks their digests.
TEST(Archive, Version1ShardsStayReadableAndValid) {
  TempDir dir;
  WriterOptions options;
  options.shard_messages = 5;
  std::vector<LogRecord> written;
  {
    ArchiveWriter writer = ArchiveWriter::open(dir.path(), options);
    for (std::uint64_t i = 0; written.size() < 10; ++i) {
      if (i % 7 == 3) continue;  // the test records with processors
      written.push_back(test_record(i));
      writer.append(written.back());
    }
    writer.close();
  }
  test::downgrade_to_v1(dir / "shard-000000.h5");
  ShardReader v1 = ShardReader::open(dir / "shard-000000.h5");
  Manifest manifest = Manifest::read(dir.path());  // a v1 writer's manifest: the file's own hash
  manifest.shards[0] = shard_entry_scan(v1);
  manifest.write(dir.path());
  EXPECT_EQ(v1.format_version(), 1);
  EXPECT_TRUE(v1.engines().empty());
  ArchiveReader reader = ArchiveReader::open(dir.path());
  for (std::uint64_t row = 0; row < 5; ++row) expect_same_record(written[row], reader.read({0, row}));
  for (std::uint64_t row = 0; row < 5; ++row) expect_same_record(written[5 + row], reader.read({1, row}));
  EXPECT_EQ(reader.shard(1).format_version(), 2);
  ValidationReport r = archive_validate(dir.path(), nullptr);
  EXPECT_TRUE(r.ok()) << (r.problems.empty() ? "" : r.problems.front().str());
  // A v2 shard with processors downgraded: its v2 records lose their meaning, and validation says so.
  TempDir other;
  test::write_test_archive(other.path(), 10, 10, /*with_key=*/false);
  test::downgrade_to_v1(other / "shard-000000.h5");
  ValidationReport broken = archive_validate(other.path(), nullptr);
  EXPECT_FALSE(broken.ok());
  EXPECT_TRUE(std::any_of(broken.problems.begin(), broken.problems.end(), [](const Problem& p) {
    return p.row == 3 && p.what.find("digest mismatch") != std::string::npos;
  }));
}

TEST(Archive, ManifestTotalsMatchTheRecordsWritten) {
  TempDir dir;
  test::write_test_archive(dir.path(), 40, 16);
  const Manifest m = Manifest::read(dir.path());
  std::uint64_t prompt = 0, output = 0;
  std::map<std::string, std::uint64_t> servers;
  for (std::uint64_t i = 0; i < 40; ++i) {
    LogRecord r = test_record(i);
    prompt += r.prompt.size();
    output += r.output.size();
    ++servers[r.server];
  }
  std::uint64_t m_prompt = 0, m_output = 0;
  std::map<std::string, std::uint64_t> m_servers;
  for (const ShardEntry& s : m.shards) {
    m_prompt += s.n_prompt_tokens;
    m_output += s.n_output_tokens;
    for (const auto& [name, n] : s.servers) m_servers[name] += n;
  }
  EXPECT_EQ(m.n_messages(), 40u);
  EXPECT_EQ(m_prompt, prompt);
  EXPECT_EQ(m_output, output);
  EXPECT_EQ(m_servers, servers);
  EXPECT_EQ(m.shards[0].first_message_id, test_record(0).message_id);
  EXPECT_EQ(m.shards[2].last_message_id, test_record(39).message_id);
  EXPECT_EQ(m.shards[1].time_min_us, test_record(16).timestamp_us);
  EXPECT_TRUE(m.hmac.has_value());
}

TEST(Archive, BatchReadEqualsSingleReadsInRequestOrder) {
  TempDir dir;
  test::write_test_archive(dir.path(), 60, 25);
  ArchiveReader reader = ArchiveReader::open(dir.path());
  std::vector<MessageRef> refs = {{2, 9}, {0, 0}, {1, 24}, {0, 13}, {2, 0}, {0, 13}, {1, 3}, {0, 24}};
  std::vector<LogRecord> batch = reader.read_batch(refs);
  ASSERT_EQ(batch.size(), refs.size());
  for (std::size_t i = 0; i < refs.size(); ++i) {
    expect_same_record(test_record(25 * refs[i].shard + refs[i].row), batch[i]);
  }
}

TEST(Archive, ReopenedWriterContinuesIdsAndChain) {
  TempDir dir;
  test::write_test_archive(dir.path(), 10, 4);
  {
    WriterOptions options;
    options.shard_messages = 4;
    options.key = test::test_key();
    ArchiveWriter w = ArchiveWriter::open(dir.path(), options);
    EXPECT_EQ(w.next_message_id(), test_record(9).message_id + 1);
    for (std::uint64_t i = 10; i < 20; ++i) w.append(test_record(i));
  }  // destructor completes the last shard
  const Manifest m = Manifest::read(dir.path());
  ASSERT_EQ(m.shards.size(), 6u);  // 4+4+2, then 4+4+2 in new shards
  EXPECT_EQ(m.n_messages(), 20u);
  for (std::size_t k = 1; k < m.shards.size(); ++k) {
    EXPECT_TRUE(digest_equal(m.shards[k].chain_genesis, m.shards[k - 1].chain_head)) << "shard " << k;
  }
  const std::vector<std::uint8_t> key = test::test_key();
  ValidationReport report = archive_validate(dir.path(), &key);
  EXPECT_TRUE(report.ok()) << (report.problems.empty() ? "" : report.problems[0].str());
}

TEST(Archive, WriterRejectsBadRecordsAndKeepsGoodOnes) {
  TempDir dir;
  WriterOptions options;
  ArchiveWriter w = ArchiveWriter::open(dir.path(), options);
  w.append(test_record(0));
  LogRecord same_id = test_record(1);
  same_id.message_id = test_record(0).message_id;
  EXPECT_THROW(w.append(same_id), RecordError);
  LogRecord bad_token = test_record(1);
  bad_token.output[0] = 512;
  EXPECT_THROW(w.append(bad_token), RecordError);
  LogRecord bad_top_p = test_record(1);
  bad_top_p.sampler.top_p = 1.5f;
  EXPECT_THROW(w.append(bad_top_p), RecordError);
  LogRecord bad_fingerprint = test_record(1);
  bad_fingerprint.model.fingerprint = "sha256:abc";
  EXPECT_THROW(w.append(bad_fingerprint), RecordError);
  LogRecord conflicting = test_record(1);
  conflicting.model.fingerprint = std::string(64, 'b');  // same name, other weights
  EXPECT_THROW(w.append(conflicting), RecordError);
  w.append(test_record(1));
  w.close();
  EXPECT_EQ(Manifest::read(dir.path()).n_messages(), 2u);
}

TEST(Archive, SecondWriterIsLockedOut) {
  TempDir dir;
  ArchiveWriter first = ArchiveWriter::open(dir.path(), WriterOptions{});
  try {
    ArchiveWriter second = ArchiveWriter::open(dir.path(), WriterOptions{});
    FAIL() << "second writer opened";
  } catch (const ArchiveError& e) {
    EXPECT_NE(std::string(e.what()).find("another writer"), std::string::npos) << e.what();
  }
}

TEST(Archive, AuthenticatedArchiveRefusesAppendWithoutTheKey) {
  TempDir dir;
  test::write_test_archive(dir.path(), 5, 4);
  EXPECT_THROW(ArchiveWriter::open(dir.path(), WriterOptions{}), ArchiveError);
  WriterOptions wrong;
  wrong.key = std::vector<std::uint8_t>(32, 0x11);
  EXPECT_THROW(ArchiveWriter::open(dir.path(), wrong), ArchiveError);
}

TEST(Archive, KilledWriterLeavesAValidArchiveMinusTheUnfinishedShard) {
  TempDir dir;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    WriterOptions options;
    options.shard_messages = 20;
    options.flush_messages = 3;
    options.key = test::test_key();
    ArchiveWriter w = ArchiveWriter::open(dir.path(), options);
    for (std::uint64_t i = 0;; ++i) w.append(test_record(i));  // until killed
  }
  // Kill the writer once two shards are published and a third is being written.
  bool killed = false;
  for (int attempt = 0; attempt < 3000 && !killed; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    try {
      if (Manifest::read(dir.path(), true).shards.size() >= 2) {
        ::kill(child, SIGKILL);
        killed = true;
      }
    } catch (const ArchiveError&) {
      // manifest being replaced; rename is atomic so this is transient at most
    }
  }
  int status = 0;
  if (!killed) ::kill(child, SIGKILL);
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(killed);
  const std::vector<std::uint8_t> key = test::test_key();
  ValidationReport report = archive_validate(dir.path(), &key);
  EXPECT_TRUE(report.ok()) << report.problems.front().str();
  EXPECT_GE(report.n_messages, 40u);
  EXPECT_EQ(report.n_messages % 20, 0u);  // only complete shards count
  // A new writer discards the unfinished shard and continues the chain.
  {
    WriterOptions options;
    options.key = key;
    ArchiveWriter w = ArchiveWriter::open(dir.path(), options);
    const std::uint64_t next = (w.next_message_id() - 10 + 2) / 3;  // ids are 10 + 3 i
    w.append(test_record(next));
  }
  report = archive_validate(dir.path(), &key);
  EXPECT_TRUE(report.ok()) << report.problems.front().str();
  EXPECT_EQ(report.n_warnings(), 0u);
}

TEST(Archive, ShardReaderRefusesAFileThatIsNotAShard) {
  TempDir dir;
  const std::string path = dir / "notes.h5";
  std::ofstream(path) << "not hdf5 at all";
  try {
    ShardReader::open(path);
    FAIL() << "opened a text file";
  } catch (const ArchiveError& e) {
    EXPECT_NE(std::string(e.what()).find("notes.h5"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fssl
