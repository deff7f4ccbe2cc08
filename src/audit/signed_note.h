// Signed notes (C2SP signed-note, as golang.org/x/mod/sumdb/note) with Ed25519 signatures, and the
// checkpoint body they carry for a transparency log (C2SP tlog-checkpoint): origin, tree size and
// root hash. A node signs its audit log's checkpoints with a NoteSigner; witnesses and patients'
// clients verify them with a NoteVerifier built from the public verifier key string.
//
// Formats: a verifier key is "<name>+<8 hex key hash>+<base64(type || public key)>"; a signature
// line is "— <name> <base64(4-byte key hash || signature)>"; the key hash is the first four bytes
// of SHA-256(name || "\n" || type || public key). Type 0x01 keys sign the note's text; type 0x04
// keys make witness cosignatures (C2SP tlog-cosignature, "cosignature/v1"): the signature is
// 8 bytes of big-endian Unix time then an Ed25519 signature over "cosignature/v1\ntime <t>\n" and
// the text. Thread-safety: signers and verifiers are immutable after construction.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "audit/merkle_tree.h"
#include "common/error.h"
#include "crypto/secret_bytes.h"

namespace kavach::audit {

inline constexpr std::size_t kNoteSignaturesMax = 100;
// Each signature line of a note begins with an em dash and a space, then the signer's name.
inline constexpr std::string_view kNoteSignaturePrefix = "\u2014 ";

enum class NoteKeyType : std::uint8_t {
  kEd25519 = 0x01,        // a log's own signature
  kCosignatureV1 = 0x04,  // a witness's timestamped cosignature
};

class NoteSigner {
 public:
  // `seed` is the 32-byte Ed25519 seed; `name` is the key's name (for a log, its origin).
  static Result<NoteSigner> from_seed(std::string_view name, const crypto::SecretBytes& seed,
                                      NoteKeyType type = NoteKeyType::kEd25519);
  // Parses Go's "PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>" form.
  static Result<NoteSigner> parse_private_key(std::string_view private_key);

  // The note: text (which must end in a newline), a blank line and this key's signature line.
  // For an Ed25519 key.
  Result<std::string> sign(std::string_view text) const;
  // This cosigner's signature line over a note's text at `unix_seconds`. For a cosignature key.
  Result<std::string> cosignature_line(std::string_view text, std::uint64_t unix_seconds) const;
  std::string verifier_key() const;
  const std::string& name() const { return name_; }
  const std::array<std::uint8_t, 32>& public_key() const { return public_key_; }

 private:
  NoteSigner() = default;
  Result<std::string> signature_line(std::string_view message, std::span<const std::uint8_t> prefix,
                                     std::string_view text) const;
  std::string name_;
  NoteKeyType type_ = NoteKeyType::kEd25519;
  crypto::SecretBytes secret_key_;  // libsodium's 64-byte form: seed || public key
  std::array<std::uint8_t, 32> public_key_{};
};

class NoteVerifier {
 public:
  static Result<NoteVerifier> parse(std::string_view verifier_key);
  // Returns the note's text when it carries a valid signature by this key; signatures by other keys
  // are ignored. Malformed notes and notes without this key's valid signature are refused.
  Result<std::string> open(std::string_view note) const;
  const std::string& name() const { return name_; }
  NoteKeyType type() const { return type_; }

 private:
  Status check_signature(std::span<const std::uint8_t> blob, std::string_view text) const;
  std::string name_;
  NoteKeyType type_ = NoteKeyType::kEd25519;
  std::uint32_t key_hash_ = 0;
  std::array<std::uint8_t, 32> public_key_{};
};

struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  Hash root{};
};

// "<origin>\n<size>\n<base64 root>\n"
std::string checkpoint_text(const Checkpoint& checkpoint);
// Parses a checkpoint's text (extension lines after the root are allowed and ignored).
Result<Checkpoint> parse_checkpoint(std::string_view text);

}  // namespace kavach::audit
