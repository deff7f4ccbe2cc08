// Witness: this node co-signs other nodes' audit-log checkpoints (C2SP tlog-witness and
// tlog-cosignature), so that no node can show one history to a patient and another to an
// auditor. The consent manager witnesses its provider nodes.
//
// For each log it was told about (origin and verifier key, by an operator), the witness keeps the
// latest checkpoint it cosigned. A new checkpoint is cosigned only when it is signed by the log's
// key and a consistency proof from that latest checkpoint verifies; the check and the update are
// one compare-and-swap on a versioned record, so two concurrent submissions cannot roll the log
// back. Every version stays in the store's history. A checkpoint with the same size and another
// root, or whose consistency proof fails, is a fork: it is refused, kept as an alarm record and
// logged as an error.
//
// State lives in records of type "_WitnessedLog" and "_WitnessAlarm", sealed like every record.
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle_tree.h"
#include "audit/signed_note.h"
#include "common/clock.h"
#include "common/error.h"
#include "store/store.h"
#include "vault/key_vault.h"
#include "vault/record_sealer.h"

namespace kavach::audit {

// The vault key whose 32 bytes are the node's Ed25519 cosigning seed (distinct from its log key,
// as the cosignature format requires).
inline constexpr std::string_view kWitnessSigningKey = "node/witness-signing";
inline constexpr std::size_t kWitnessRequestBytesMax = 64 * 1024;
inline constexpr std::size_t kConsistencyProofLinesMax = 63;

// The node's cosigner: the vault's cosigning seed under `name`, or "kavach-witness/<first 16 hex
// digits of SHA-256 of the public key>" when `name` is empty.
Result<NoteSigner> node_witness_signer(vault::KeyVault& keys, std::string name);

struct WitnessedLog {
  std::string origin;
  std::string verifier_key;
  std::uint64_t size = 0;  // of the latest cosigned checkpoint; 0 before the first
  Hash root{};
  std::string note;  // the latest cosigned checkpoint as the log signed it
  std::int64_t version = 0;
};

struct WitnessAlarm {
  std::string origin;
  std::int64_t time_ms = 0;
  std::string reason;
  std::uint64_t cosigned_size = 0;
  std::string submitted_note;
};

// The answer to add-checkpoint: cosignature lines, or the size the witness holds (HTTP 409).
struct AddCheckpointResult {
  enum class Kind { kCosigned, kSizeMismatch, kFork, kBadProof };
  Kind kind = Kind::kCosigned;
  std::string cosignatures;
  std::uint64_t witness_size = 0;
  std::string reason;
};

// An add-checkpoint answer in the terms of the tlog-witness protocol, which fixes the statuses:
// 200 with cosignature lines, 409 with the held size (text/x.tlog.size), 422 for a failing proof,
// 400, 403 and 404 for malformed requests, foreign signatures and unknown logs.
struct WitnessAnswer {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class Witness {
 public:
  Witness(store::Store& store, vault::RecordSealer& sealer, NoteSigner cosigner, const Clock& clock)
      : store_(store), sealer_(sealer), cosigner_(std::move(cosigner)), clock_(clock) {}

  // Starts witnessing a log; kAlreadyExists if it is witnessed already.
  Status add_log(std::string_view verifier_key, std::string_view registered_by);
  // The tlog-witness add-checkpoint call. kInvalidArgument for a malformed request (400),
  // kNotFound for an unknown origin (404), kPermissionDenied when no signature verifies (403).
  Result<AddCheckpointResult> add_checkpoint(std::string_view body);
  // add_checkpoint() as the protocol answers it.
  WitnessAnswer answer(std::string_view body);

  Result<std::vector<WitnessedLog>> logs();
  Result<std::vector<WitnessAlarm>> alarms();
  std::string verifier_key() const { return cosigner_.verifier_key(); }

 private:
  Result<std::optional<WitnessedLog>> find_log(std::string_view origin);
  Status write_log(const WitnessedLog& log, std::int64_t expected_version);
  void raise_alarm(const WitnessedLog& log, std::string reason, std::string_view note);

  store::Store& store_;
  vault::RecordSealer& sealer_;
  const NoteSigner cosigner_;
  const Clock& clock_;
};

}  // namespace kavach::audit
