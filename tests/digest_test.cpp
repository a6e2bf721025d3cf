// SHA-256 / HMAC-SHA256 against published known-answer vectors (FIPS 180-2, RFC 4231).
#include <gtest/gtest.h>

#include <fstream>

#include "fssl/digest.h"
#include "test_util.h"

namespace fssl {
namespace {

TEST(Digest, Sha256KnownAnswers) {
  EXPECT_EQ(hex_encode(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_encode(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;  // incremental == one shot
  h.update("ab");
  h.update("c");
  EXPECT_EQ(hex_encode(h.finish()), hex_encode(sha256("abc")));
}

TEST(Digest, HmacSha256Rfc4231TestCase2) {
  const std::string key = "Jefe";
  EXPECT_EQ(hex_encode(hmac_sha256(std::vector<std::uint8_t>(key.begin(), key.end()), "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Digest, HexRoundTripAndRejection) {
  const Digest32 d = sha256("abc");
  Digest32 back{};
  ASSERT_TRUE(hex_decode_digest(hex_encode(d), &back));
  EXPECT_TRUE(digest_equal(d, back));
  EXPECT_FALSE(hex_decode_digest("abc", &back));
  EXPECT_FALSE(hex_decode_digest(std::string(63, 'a') + "g", &back));
}

TEST(Digest, KeyFilesTooShortAreRefusedAndKeygenNeverOverwrites) {
  test::TempDir dir;
  std::ofstream(dir / "short") << "0123456789";
  EXPECT_THROW(key_file_read(dir / "short"), ArchiveError);
  key_file_generate(dir / "k");
  EXPECT_EQ(key_file_read(dir / "k").size(), 32u);
  EXPECT_THROW(key_file_generate(dir / "k"), ArchiveError);
}

}  // namespace
}  // namespace fssl
