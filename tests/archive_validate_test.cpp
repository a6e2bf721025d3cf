// Validation of damaged and tampered archives: every bad-input case of the archive names the
// file and the record, and all problems are listed, not just the first.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "archive_tamper.h"
#include "fssl/archive.h"
#include "test_util.h"

namespace fssl {
namespace {

using test::TempDir;

class ArchiveValidate : public ::testing::Test {
 protected:
  void SetUp() override { test::write_test_archive(dir_.path(), 30, 10); }  // 3 shards of 10
  std::string shard(int k) const { return dir_ / ("shard-00000" + std::to_string(k) + ".h5"); }
  ValidationReport validate() { return archive_validate(dir_.path(), &key_); }
  std::uint64_t id_of(std::uint64_t i) const { return test::test_record(i).message_id; }

  // True if some error's text contains every fragment.
  static bool has_error(const ValidationReport& r, const std::vector<std::string>& fragments) {
    for (const Problem& p : r.problems) {
      if (p.severity != Problem::Severity::kError) continue;
      const std::string s = p.str();
      bool all = true;
      for (const std::string& f : fragments) all = all && s.find(f) != std::string::npos;
      if (all) return true;
    }
    return false;
  }
  static std::string dump(const ValidationReport& r) {
    std::string out;
    for (const Problem& p : r.problems) out += p.str() + "\n";
    return out;
  }
  void edit_manifest(const std::function<void(nlohmann::json&)>& edit) {
    const std::string path = dir_ / "manifest.json";
    nlohmann::json j = nlohmann::json::parse(std::ifstream(path));
    edit(j);
    std::ofstream(path, std::ios::trunc) << j.dump(1);
  }

  TempDir dir_;
  std::vector<std::uint8_t> key_ = test::test_key();
};

TEST_F(ArchiveValidate, IntactArchiveIsValidWithItsKey) {
  ValidationReport r = validate();
  EXPECT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.problems.empty()) << dump(r);
  EXPECT_EQ(r.n_records_checked, 30u);
  EXPECT_TRUE(r.hmac_checked);
}

TEST_F(ArchiveValidate, TruncatedShardIsNamed) {
  ::truncate(shard(1).c_str(), static_cast<off_t>(std::filesystem::file_size(shard(1)) / 2));
  ValidationReport r = validate();
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, {"shard-000001.h5", "unreadable", "truncated or corrupt"})) << dump(r);
  EXPECT_EQ(r.n_records_checked, 20u);  // the other shards are still checked
}

TEST_F(ArchiveValidate, MissingDatasetIsNamed) {
  test::delete_link(shard(0), "/messages/seed");
  ValidationReport r = validate();
  EXPECT_TRUE(has_error(r, {"shard-000000.h5", "missing dataset", "seed"})) << dump(r);
}

TEST_F(ArchiveValidate, WrongFormatVersionIsRefused) {
  test::set_int_attribute(shard(2), "format_version", 3);
  ValidationReport r = validate();
  EXPECT_TRUE(has_error(r, {"shard-000002.h5", "format_version 3 is not supported"})) << dump(r);
}

// Format v2: the processors' ranges and offsets are checked like the v1 fields, naming the record.
// Test records 10 and 17 (shard 1, rows 0 and 7) and 24 (shard 2, row 4) carry processors.
TEST_F(ArchiveValidate, ProcessorFieldsOutOfRangeNameTheRecord) {
  test::poke<float>(shard(1), "/messages/repetition_penalty", 0, -1.0f, H5T_NATIVE_FLOAT);
  const auto columns = ShardReader::open(shard(1)).columns();
  test::poke<std::int32_t>(shard(1), "/processors/stop_token_ids", static_cast<hsize_t>(columns.stop_offset[7]), 512,
                           H5T_NATIVE_INT32);
  test::poke<std::int32_t>(shard(2), "/messages/logit_bias_length", 4, 1000, H5T_NATIVE_INT32);
  const auto bad_words = static_cast<hsize_t>(ShardReader::open(shard(0)).columns().bad_words_offset[3]);
  test::poke<std::int32_t>(shard(0), "/processors/bad_words", bad_words, 0, H5T_NATIVE_INT32);
  ValidationReport r = validate();
  EXPECT_TRUE(has_error(r, {"shard-000001.h5", "record 0", "message id " + std::to_string(id_of(10)),
                            "repetition_penalty -1 is not > 0"}))
      << dump(r);
  EXPECT_TRUE(has_error(r, {"shard-000001.h5", "record 7", "stop_token_ids holds id 512 outside [0, vocab size 512)"}))
      << dump(r);
  EXPECT_TRUE(has_error(r, {"shard-000002.h5", "record 4", "logit_bias range", "outside its dataset"})) << dump(r);
  EXPECT_TRUE(has_error(r, {"shard-000000.h5", "record 3", "bad_words holds a sequence of length 0"})) << dump(r);
}

TEST_F(ArchiveValidate, ModifiedProcessorBreaksItsDigest) {
  test::poke<float>(shard(2), "/messages/presence_penalty", 4, 0.75f, H5T_NATIVE_FLOAT);
  ValidationReport r = validate();
  EXPECT_TRUE(has_error(r, {"shard-000002.h5", "record 4", "message id " + std::to_string(id_of(24)),
                            "digest mismatch"}))
      << dump(r);
}

TEST_F(ArchiveValidate, NegativeOffsetNamesTheRecord) {
  test::poke<std::int64_t>(shard(1), "/messages/prompt_offset", 3, -5, H5T_NATIVE_INT64);
  ValidationReport r = validate();
  const std::string id = "message id " + std::to_string(id_of(13));
  EXPECT_TRUE(has_error(r, {"shard-000001.h5", "record 3", id, "prompt_offset -5 is negative"})) << dump(r);
}

TEST_F(ArchiveValidate, LengthPastTheEndNamesTheRecord) {
  test::poke<std::int32_t>(shard(0), "/messages/output_length", 9, 1 << 20, H5T_NATIVE_INT32);
  ValidationReport r = validate();
  EXPECT_TRUE(has_error(r, {"shard-000000.h5", "record 9", "run past the end of /tokens"})) << dump(r);
}

TEST_F(ArchiveValidate, TokenIdAtOrAboveVocabSizeNamesTheRecord) {
  // Record 2 of shard 2 (record 22 overall): overwrite its first output token with V = 512.
  const auto offset = static_cast<hsize_t>(ShardReader::open(shard(2)).columns().output_offset[2]);
  test::poke<std::int32_t>(shard(2), "/tokens", offset, 512, H5T_NATIVE_INT32);
  ValidationReport r = validate();
  const std::string id = "message id " + std::to_string(id_of(22));
  EXPECT_TRUE(has_error(r, {"shard-000002.h5", "record 2", id, "output token 0 has id 512 outside [0, vocab size 512)"}))
      << dump(r);
}

TEST_F(ArchiveValidate, ManifestDisagreeingWithAShardIsNamed) {
  edit_manifest([](nlohmann::json& j) { j["shards"][1]["n_prompt_tokens"] = 7; });
  ValidationReport r = validate();
  EXPECT_TRUE(has_error(r, {"shard-000001.h5", "manifest says n_prompt_tokens = 7"})) << dump(r);
}

TEST_F(ArchiveValidate, ModifiedRecordBreaksItsDigest) {
  test::poke<std::uint64_t>(shard(1), "/messages/seed", 5, 42, H5T_NATIVE_UINT64);
  ValidationReport r = validate();
  const std::string id = "message id " + std::to_string(id_of(15));
  EXPECT_TRUE(has_error(r, {"shard-000001.h5", "record 5", id, "digest mismatch"})) << dump(r);
  // Exactly one record is blamed: the chain continues from the stored digest.
  EXPECT_EQ(std::count_if(r.problems.begin(), r.problems.end(),
                          [](const Problem& p) { return p.what.find("digest mismatch") != std::string::npos; }),
            1);
}

TEST_F(ArchiveValidate, DeletedRecordIsDetectedAtTheNextOne) {
  test::permute_rows(shard(0), {0, 1, 2, 3, 5, 6, 7, 8, 9});  // record 4 removed
  ValidationReport r = validate();
  EXPECT_TRUE(has_error(r, {"shard-000000.h5", "record 4", "message id " + std::to_string(id_of(5)), "digest mismatch"}))
      << dump(r);
  EXPECT_TRUE(has_error(r, {"shard-000000.h5", "manifest says n_messages = 10, the shard holds 9"})) << dump(r);
}

TEST_F(ArchiveValidate, InsertedRecordIsDetected) {
  test::permute_rows(shard(1), {0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9});  // record 3 duplicated
  ValidationReport r = validate();
  EXPECT_TRUE(has_error(r, {"shard-000001.h5", "record 4", "not greater than the previous"})) << dump(r);
  EXPECT_TRUE(has_error(r, {"shard-000001.h5", "record 4", "digest mismatch"})) << dump(r);
}

TEST_F(ArchiveValidate, ReorderedRecordsAreDetected) {
  test::permute_rows(shard(2), {0, 1, 3, 2, 4, 5, 6, 7, 8, 9});
  ValidationReport r = validate();
  EXPECT_TRUE(has_error(r, {"shard-000002.h5", "record 2", "digest mismatch"})) << dump(r);
  EXPECT_TRUE(has_error(r, {"shard-000002.h5", "record 3", "reordered or duplicated"})) << dump(r);
}

TEST_F(ArchiveValidate, RemovedShardBreaksTheChainAndTheManifestHmac) {
  std::filesystem::remove(shard(1));
  edit_manifest([](nlohmann::json& j) { j["shards"].erase(1); j["shards"][1]["index"] = 1; });
  ValidationReport r = validate();
  EXPECT_TRUE(has_error(r, {"shard-000002.h5", "chain_genesis is not the previous shard's chain_head"})) << dump(r);
  EXPECT_TRUE(has_error(r, {"manifest.json", "hmac does not verify"})) << dump(r);
}

TEST_F(ArchiveValidate, WrongKeyFailsEveryHmac) {
  std::vector<std::uint8_t> other(32, 0x33);
  ValidationReport r = archive_validate(dir_.path(), &other);
  EXPECT_TRUE(has_error(r, {"manifest.json", "hmac does not verify"})) << dump(r);
  for (int k = 0; k < 3; ++k) EXPECT_TRUE(has_error(r, {"shard-00000" + std::to_string(k), "chain_hmac"})) << dump(r);
  // Without a key the chain still verifies and HMACs are not claimed.
  ValidationReport unkeyed = archive_validate(dir_.path(), nullptr);
  EXPECT_TRUE(unkeyed.ok()) << dump(unkeyed);
  EXPECT_FALSE(unkeyed.hmac_checked);
}

TEST_F(ArchiveValidate, ListsEveryProblemNotJustTheFirst) {
  test::poke<std::uint64_t>(shard(0), "/messages/seed", 1, 7, H5T_NATIVE_UINT64);
  test::poke<float>(shard(2), "/messages/temperature", 8, 0.5f, H5T_NATIVE_FLOAT);
  test::poke<std::int32_t>(shard(1), "/messages/prompt_length", 0, 0, H5T_NATIVE_INT32);
  ValidationReport r = validate();
  EXPECT_TRUE(has_error(r, {"shard-000000.h5", "record 1", "digest mismatch"})) << dump(r);
  EXPECT_TRUE(has_error(r, {"shard-000002.h5", "record 8", "digest mismatch"})) << dump(r);
  EXPECT_TRUE(has_error(r, {"shard-000001.h5", "record 0", "prompt_length 0 is not >= 1"})) << dump(r);
}

TEST_F(ArchiveValidate, UnlistedAndPartialShardsAreWarningsOnly) {
  std::filesystem::copy_file(shard(0), dir_ / "shard-000099.h5");
  std::ofstream(dir_ / "shard-000003.h5.partial") << "half written";
  ValidationReport r = validate();
  EXPECT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.n_warnings(), 2u) << dump(r);
}

TEST_F(ArchiveValidate, CorruptCompressedChunkNamesOnlyTheRecordsInIt) {
  // Small /tokens chunks, so that one corrupt chunk hits a few records and spares the others.
  test::TempDir dir;
  WriterOptions options;
  options.shard_messages = 40;
  options.tokens_chunk = 64;
  ArchiveWriter w = ArchiveWriter::open(dir.path(), options);
  for (std::uint64_t i = 0; i < 40; ++i) w.append(test::test_record(i));
  w.close();
  const std::string path = dir / "shard-000000.h5";
  haddr_t address = 0;
  hsize_t size = 0;
  {
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "/tokens", H5P_DEFAULT);
    hid_t space = H5Dget_space(d);
    hsize_t offset[1] = {0};
    unsigned mask = 0;
    ASSERT_GE(H5Dget_chunk_info(d, space, 3, offset, &mask, &address, &size), 0);
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(f);
  }
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(address));
    const std::string garbage(static_cast<std::size_t>(size), '\x5a');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  ValidationReport r = archive_validate(dir.path(), nullptr);
  EXPECT_TRUE(has_error(r, {"shard-000000.h5", "tokens unreadable", "inflate() failed"})) << dump(r);
  const auto unreadable = std::count_if(r.problems.begin(), r.problems.end(), [](const Problem& p) {
    return p.what.find("tokens unreadable") != std::string::npos;
  });
  EXPECT_GE(unreadable, 1);
  EXPECT_LE(unreadable, 4);  // a 64-token chunk touches at most a few records of 2..70 tokens
  EXPECT_EQ(r.n_records_checked, 40u);  // the rest of the shard was still checked
}

TEST_F(ArchiveValidate, MalformedManifestIsNamed) {
  std::ofstream(dir_ / "manifest.json", std::ios::trunc) << "{\"format\": \"fssl-archive-manifest\", ";
  ValidationReport r = validate();
  EXPECT_TRUE(has_error(r, {"manifest.json", "malformed JSON"})) << dump(r);
}

}  // namespace
}  // namespace fssl
