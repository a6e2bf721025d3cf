// SHA-256 / HMAC through OpenSSL libcrypto (digest.h).
#include "fssl/digest.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "fssl/error.h"

namespace fssl {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  FSSL_CHECK(impl_->ctx != nullptr && EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) == 1,
             Error, "OpenSSL: SHA-256 initialisation failed");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t n_bytes) {
  FSSL_CHECK(EVP_DigestUpdate(impl_->ctx, data, n_bytes) == 1, Error, "OpenSSL: SHA-256 update failed");
}

Digest32 Sha256::finish() {
  Digest32 out{};
  unsigned int n = 0;
  FSSL_CHECK(EVP_DigestFinal_ex(impl_->ctx, out.data(), &n) == 1 && n == out.size(), Error,
             "OpenSSL: SHA-256 final failed");
  return out;
}

Digest32 sha256(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish();
}

Digest32 sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  FSSL_CHECK(in.good(), ArchiveError, "{}: cannot open for hashing: {}", path, std::strerror(errno));
  Sha256 h;
  std::vector<char> block(1 << 20);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    h.update(block.data(), static_cast<std::size_t>(in.gcount()));
  }
  FSSL_CHECK(in.eof(), ArchiveError, "{}: read error while hashing", path);
  return h.finish();
}

Digest32 hmac_sha256(const std::vector<std::uint8_t>& key, std::string_view message) {
  Digest32 out{};
  unsigned int n = 0;
  const unsigned char* r = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                                reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                out.data(), &n);
  FSSL_CHECK(r != nullptr && n == out.size(), Error, "OpenSSL: HMAC-SHA256 failed");
  return out;
}

std::string hex_encode(const std::uint8_t* data, std::size_t n_bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(2 * n_bytes, '0');
  for (std::size_t i = 0; i < n_bytes; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

bool hex_decode_digest(std::string_view hex, Digest32* out) {
  if (hex.size() != 64) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

bool digest_equal(const Digest32& a, const Digest32& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::vector<std::uint8_t> key_file_read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  FSSL_CHECK(in.good(), ArchiveError, "{}: cannot open key file: {}", path, std::strerror(errno));
  std::vector<std::uint8_t> key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  FSSL_CHECK(key.size() >= 16, ArchiveError,
             "{}: key file holds {} bytes, at least 16 are required (fssl archive keygen writes 32)",
             path, key.size());
  return key;
}

void key_file_generate(const std::string& path) {
  std::uint8_t key[32];
  FSSL_CHECK(RAND_bytes(key, sizeof key) == 1, Error, "OpenSSL: RAND_bytes failed");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  FSSL_CHECK(fd >= 0, ArchiveError, "{}: cannot create key file: {}", path, std::strerror(errno));
  ssize_t n = ::write(fd, key, sizeof key);
  int sync_rc = ::fsync(fd);
  ::close(fd);
  FSSL_CHECK(n == static_cast<ssize_t>(sizeof key) && sync_rc == 0, ArchiveError,
             "{}: cannot write key file", path);
}

}  // namespace fssl
