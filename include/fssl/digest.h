// SHA-256 and HMAC-SHA256 (OpenSSL libcrypto) plus hex helpers, for the archive's hash chain,
// shard content digests and key-based authentication.
// Thread safety: objects are independent; no shared state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fssl {

using Digest32 = std::array<std::uint8_t, 32>;

// Incremental SHA-256. Move-only (owns an EVP_MD_CTX).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t n_bytes);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // Finishes the digest; the object must not be updated afterwards.
  Digest32 finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Digest32 sha256(std::string_view bytes);
// SHA-256 of a whole file, read in 1 MiB blocks. Throws ArchiveError naming the path.
Digest32 sha256_file(const std::string& path);
// HMAC-SHA256(key, message).
Digest32 hmac_sha256(const std::vector<std::uint8_t>& key, std::string_view message);

// Lower-case hex of bytes.
std::string hex_encode(const std::uint8_t* data, std::size_t n_bytes);
inline std::string hex_encode(const Digest32& d) { return hex_encode(d.data(), d.size()); }
// Parses exactly 64 hex digits; returns false on anything else.
bool hex_decode_digest(std::string_view hex, Digest32* out);

// Constant-time comparison for MACs.
bool digest_equal(const Digest32& a, const Digest32& b);

// Reads an HMAC key file: its exact bytes are the key; at least 16 bytes.
// Throws ArchiveError naming the path when unreadable or too short.
std::vector<std::uint8_t> key_file_read(const std::string& path);
// Writes 32 random bytes (RAND_bytes) to a new file with mode 0600; refuses to overwrite.
void key_file_generate(const std::string& path);

}  // namespace fssl
