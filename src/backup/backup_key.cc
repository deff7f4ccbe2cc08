#include "backup/backup_key.h"

#include <sodium.h>
#include <zstd.h>

#include <fmt/format.h>

#include "common/check.h"
#include "crypto/aead.h"
#include "crypto/encoding.h"
#include "crypto/keyed_hash.h"
#include "crypto/secret_file.h"
#include "crypto/sha256.h"
#include "crypto/sodium.h"

namespace kavach::backup {
namespace {

constexpr std::string_view kHeader = "kavach-backup-key v1";
constexpr std::string_view kBackupKeyLabel = "backup key";
constexpr std::size_t kMasterBytes = 32;
// Names what the sealed bytes are, so an object cannot be passed off as another kind of ciphertext.
constexpr std::string_view kObjectContext = "kavach/backup-object/v1";
// zstd's default level: most of the ratio of higher levels at a fraction of the time.
constexpr int kCompressionLevel = 3;

}  // namespace

BackupKey::BackupKey(const crypto::SecretBytes& master)
    : encryption_key_(crypto::derive_subkey(master, 1, "kvbackup")),
      nonce_key_(crypto::derive_subkey(master, 2, "kvbackup")) {}

Result<BackupKey> BackupKey::create(const std::filesystem::path& path) {
  const auto master = crypto::SecretBytes::random(kMasterBytes);
  RETURN_IF_ERROR(crypto::write_secret_file(path, kHeader, "key", master, kBackupKeyLabel));
  return BackupKey(master);
}

Result<BackupKey> BackupKey::load(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(const auto master,
                   crypto::read_secret_file(path, kHeader, "key", kMasterBytes, kBackupKeyLabel));
  return BackupKey(master);
}

Bytes BackupKey::seal_object(std::span<const std::uint8_t> plaintext) const {
  Bytes compressed(ZSTD_compressBound(plaintext.size()));
  const std::size_t size = ZSTD_compress(compressed.data(), compressed.size(), plaintext.data(),
                                         plaintext.size(), kCompressionLevel);
  CHECK(!ZSTD_isError(size));
  compressed.resize(size);
  return crypto::seal_deterministic(encryption_key_, nonce_key_, compressed, kObjectContext);
}

Result<Bytes> BackupKey::open_object(std::span<const std::uint8_t> object) const {
  ASSIGN_OR_RETURN(const Bytes compressed, crypto::open(encryption_key_, object, kObjectContext));
  const unsigned long long size = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
      size > kObjectPlaintextMax) {
    return make_error(ErrorCode::kDataLoss, "a backup object's compressed frame is malformed");
  }
  Bytes plaintext(size);
  const std::size_t written =
      ZSTD_decompress(plaintext.data(), plaintext.size(), compressed.data(), compressed.size());
  if (ZSTD_isError(written) || written != size) {
    return make_error(ErrorCode::kDataLoss, "a backup object's compressed frame is malformed");
  }
  return plaintext;
}

std::string object_id(std::span<const std::uint8_t> object) {
  return crypto::to_hex(crypto::sha256(object));
}

bool is_object_id(std::string_view text) {
  return text.size() == 2 * crypto::kSha256Bytes &&
         text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace kavach::backup
