#include "audit/signed_note.h"

#include <sodium.h>

#include <charconv>

#include <fmt/format.h>

#include "crypto/encoding.h"
#include "crypto/sha256.h"
#include "crypto/sodium.h"

namespace kavach::audit {
namespace {

constexpr std::string_view kCosignatureHeader = "cosignature/v1\ntime ";
constexpr std::string_view kPrivateKeyPrefix = "PRIVATE+KEY+";

tl::unexpected<Error> note_error(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

// The four bytes at `bytes` as a big-endian number (key hashes are written that way).
std::uint32_t read_be32(const std::uint8_t* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

std::uint32_t key_hash(std::string_view name, NoteKeyType type,
                       std::span<const std::uint8_t, 32> public_key) {
  const std::uint8_t separator[2] = {'\n', static_cast<std::uint8_t>(type)};
  const auto digest = crypto::Sha256().update(name).update(separator).update(public_key).finish();
  return read_be32(digest.data());
}

// A key name is non-empty and holds no space, plus sign or control character.
bool is_key_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (c == '+' || c == ' ' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// Splits "<name>+<hex hash>+<base64>" and checks the hash against the decoded key.
struct KeyParts {
  std::string name;
  std::uint32_t hash = 0;
  NoteKeyType type = NoteKeyType::kEd25519;
  crypto::Bytes key;
};

bool is_key_type(std::uint8_t byte) {
  return byte == static_cast<std::uint8_t>(NoteKeyType::kEd25519) ||
         byte == static_cast<std::uint8_t>(NoteKeyType::kCosignatureV1);
}

// The message a cosignature signs: the header, the time line and the note's text.
std::string cosigned_message(std::string_view text, std::uint64_t unix_seconds) {
  return fmt::format("{}{}\n{}", kCosignatureHeader, unix_seconds, text);
}

Result<KeyParts> split_key(std::string_view text) {
  const auto first = text.find('+');
  const auto second = first == std::string_view::npos ? first : text.find('+', first + 1);
  if (second == std::string_view::npos) return note_error("a key is <name>+<hash>+<key>");
  KeyParts parts;
  parts.name = std::string(text.substr(0, first));
  const auto hash_text = text.substr(first + 1, second - first - 1);
  const auto parsed =
      std::from_chars(hash_text.data(), hash_text.data() + hash_text.size(), parts.hash, 16);
  auto key = crypto::from_base64(text.substr(second + 1));
  if (!is_key_name(parts.name) || hash_text.size() != 8 || parsed.ec != std::errc() ||
      parsed.ptr != hash_text.data() + hash_text.size() || !key || key->size() != 33 ||
      !is_key_type((*key)[0])) {
    return note_error("malformed Ed25519 note key");
  }
  parts.type = static_cast<NoteKeyType>((*key)[0]);
  parts.key = std::move(*key);
  return parts;
}

}  // namespace

Result<NoteSigner> NoteSigner::from_seed(std::string_view name, const crypto::SecretBytes& seed,
                                         NoteKeyType type) {
  crypto::ensure_sodium();
  if (!is_key_name(name)) return note_error("a key name must be non-empty without '+' or spaces");
  if (seed.size() != crypto_sign_SEEDBYTES) return note_error("an Ed25519 seed is 32 bytes");
  NoteSigner signer;
  signer.name_ = std::string(name);
  signer.type_ = type;
  signer.secret_key_ = crypto::SecretBytes(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(signer.public_key_.data(), signer.secret_key_.mutable_view().data(),
                           seed.view().data());
  return signer;
}

Result<NoteSigner> NoteSigner::parse_private_key(std::string_view private_key) {
  if (!private_key.starts_with(kPrivateKeyPrefix)) return note_error("not a note private key");
  ASSIGN_OR_RETURN(auto parts, split_key(private_key.substr(kPrivateKeyPrefix.size())));
  const crypto::SecretBytes seed(std::span<const std::uint8_t>(parts.key).subspan(1));
  crypto::wipe(parts.key);
  ASSIGN_OR_RETURN(auto signer, from_seed(parts.name, seed, parts.type));
  if (key_hash(signer.name_, signer.type_, signer.public_key_) != parts.hash) {
    return note_error("the private key's hash does not match its key");
  }
  return signer;
}

std::string NoteSigner::verifier_key() const {
  std::array<std::uint8_t, 33> encoded{};
  encoded[0] = static_cast<std::uint8_t>(type_);
  std::copy(public_key_.begin(), public_key_.end(), encoded.begin() + 1);
  return fmt::format("{}+{:08x}+{}", name_, key_hash(name_, type_, public_key_),
                     crypto::to_base64(encoded));
}

Result<std::string> NoteSigner::signature_line(std::string_view message,
                                               std::span<const std::uint8_t> prefix,
                                               std::string_view text) const {
  if (text.empty() || text.back() != '\n')
    return note_error("a note's text must end with a newline");
  if (text.find("\n\n") != std::string_view::npos)
    return note_error("a note's text has no blank lines");
  std::vector<std::uint8_t> blob(4 + prefix.size() + crypto_sign_BYTES);
  const auto hash = key_hash(name_, type_, public_key_);
  for (int i = 0; i < 4; ++i) blob[i] = static_cast<std::uint8_t>(hash >> (24 - 8 * i));
  std::copy(prefix.begin(), prefix.end(), blob.begin() + 4);
  crypto_sign_detached(blob.data() + 4 + prefix.size(), nullptr, crypto::as_bytes(message).data(),
                       message.size(), secret_key_.view().data());
  return fmt::format("{}{} {}\n", kNoteSignaturePrefix, name_, crypto::to_base64(blob));
}

Result<std::string> NoteSigner::sign(std::string_view text) const {
  if (type_ != NoteKeyType::kEd25519) return note_error("a cosigner key does not sign notes");
  ASSIGN_OR_RETURN(const auto line, signature_line(text, {}, text));
  return fmt::format("{}\n{}", text, line);
}

Result<std::string> NoteSigner::cosignature_line(std::string_view text,
                                                 std::uint64_t unix_seconds) const {
  if (type_ != NoteKeyType::kCosignatureV1) return note_error("not a cosigner key");
  if (unix_seconds > (std::uint64_t{1} << 63) - 1) return note_error("the time is out of range");
  std::array<std::uint8_t, 8> timestamp{};
  for (int i = 0; i < 8; ++i)
    timestamp[i] = static_cast<std::uint8_t>(unix_seconds >> (56 - 8 * i));
  return signature_line(cosigned_message(text, unix_seconds), timestamp, text);
}

Result<NoteVerifier> NoteVerifier::parse(std::string_view verifier_key) {
  ASSIGN_OR_RETURN(const auto parts, split_key(verifier_key));
  NoteVerifier verifier;
  verifier.name_ = parts.name;
  std::copy(parts.key.begin() + 1, parts.key.end(), verifier.public_key_.begin());
  verifier.key_hash_ = parts.hash;
  verifier.type_ = parts.type;
  if (key_hash(verifier.name_, verifier.type_, verifier.public_key_) != parts.hash) {
    return note_error("the verifier key's hash does not match its key");
  }
  return verifier;
}

Result<std::string> NoteVerifier::open(std::string_view note) const {
  const auto split = note.rfind("\n\n");
  if (split == std::string_view::npos || note.back() != '\n') return note_error("malformed note");
  const auto text = note.substr(0, split + 1);
  std::string_view signatures = note.substr(split + 2);
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n')
      return note_error("a note's text has control characters");
  }
  std::size_t count = 0;
  bool verified = false;
  while (!signatures.empty()) {
    const auto end = signatures.find('\n');
    const auto line = signatures.substr(0, end);
    signatures.remove_prefix(end + 1);
    if (++count > kNoteSignaturesMax) return note_error("a note has too many signatures");
    if (!line.starts_with(kNoteSignaturePrefix)) return note_error("malformed signature line");
    const auto rest = line.substr(kNoteSignaturePrefix.size());
    const auto space = rest.find(' ');
    if (space == std::string_view::npos || !is_key_name(rest.substr(0, space))) {
      return note_error("malformed signature line");
    }
    const auto blob = crypto::from_base64(rest.substr(space + 1));
    if (!blob || blob->size() < 5) return note_error("malformed signature");
    if (rest.substr(0, space) != name_) continue;
    const std::uint32_t hash = read_be32(blob->data());
    if (hash != key_hash_) continue;
    RETURN_IF_ERROR(check_signature(*blob, text));
    verified = true;
  }
  if (!verified) return note_error(fmt::format("the note carries no signature by {}", name_));
  return std::string(text);
}

Status NoteVerifier::check_signature(std::span<const std::uint8_t> blob,
                                     std::string_view text) const {
  const auto bad = [] { return note_error("a signature by this key does not verify"); };
  if (type_ == NoteKeyType::kEd25519) {
    if (blob.size() != 4 + crypto_sign_BYTES ||
        crypto_sign_verify_detached(blob.data() + 4, crypto::as_bytes(text).data(), text.size(),
                                    public_key_.data()) != 0) {
      return bad();
    }
    return {};
  }
  if (blob.size() != 4 + 8 + crypto_sign_BYTES) return bad();
  std::uint64_t unix_seconds = 0;
  for (int i = 0; i < 8; ++i) unix_seconds = (unix_seconds << 8) | blob[4 + i];
  if (unix_seconds > (std::uint64_t{1} << 63) - 1) return bad();
  const auto message = cosigned_message(text, unix_seconds);
  if (crypto_sign_verify_detached(blob.data() + 12, crypto::as_bytes(message).data(),
                                  message.size(), public_key_.data()) != 0) {
    return bad();
  }
  return {};
}

std::string checkpoint_text(const Checkpoint& checkpoint) {
  return fmt::format("{}\n{}\n{}\n", checkpoint.origin, checkpoint.size,
                     crypto::to_base64(checkpoint.root));
}

Result<Checkpoint> parse_checkpoint(std::string_view text) {
  std::array<std::string_view, 3> lines{};
  for (auto& line : lines) {
    const auto end = text.find('\n');
    if (end == std::string_view::npos)
      return note_error("a checkpoint has origin, size and root lines");
    line = text.substr(0, end);
    text.remove_prefix(end + 1);
  }
  Checkpoint checkpoint;
  checkpoint.origin = std::string(lines[0]);
  const auto parsed =
      std::from_chars(lines[1].data(), lines[1].data() + lines[1].size(), checkpoint.size);
  const auto root = crypto::from_base64(lines[2]);
  if (checkpoint.origin.empty() || parsed.ec != std::errc() ||
      parsed.ptr != lines[1].data() + lines[1].size() ||
      (lines[1].size() > 1 && lines[1][0] == '0') || !root || root->size() != kHashBytes) {
    return note_error("malformed checkpoint");
  }
  std::copy(root->begin(), root->end(), checkpoint.root.begin());
  return checkpoint;
}

}  // namespace kavach::audit
