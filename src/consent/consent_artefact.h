// ConsentArtefact: what a patient's grant allows one HIP to release, in exactly ABDM's
// `consentDetail` shape, signed by the consent manager.
//
// ABDM publishes no signature algorithm. Kavach signs with Ed25519 over the RFC 8785 canonical JSON
// of the `consentDetail` object, so the signature survives any re-serialisation, and a HIP verifies
// the object exactly as it received it (unknown members included) against the CM's published keys
// (a JWKS at /v0.5/certs and /.well-known/jwks.json) before it serves anything under it.
// Thread-safety: plain values; signers and verifiers are immutable after construction.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "common/error.h"
#include "consent/consent_terms.h"
#include "crypto/secret_bytes.h"

namespace kavach::consent {

inline constexpr std::string_view kArtefactSchemaVersion = "v1";

struct ConsentDetail {
  std::string schema_version = std::string(kArtefactSchemaVersion);
  std::string consent_id;  // a UUID
  std::int64_t created_at_ms = 0;
  std::string patient_id;  // the ABHA address
  std::vector<CareContext> care_contexts;
  Purpose purpose = Purpose::kCareManagement;
  std::string hip_id;
  std::string hip_name;
  std::string hiu_id;                  // empty in the HIP's copy
  std::optional<Requester> requester;  // absent in the HIP's copy
  std::string consent_manager_id;
  std::vector<HiType> hi_types;
  Permission permission;
  bool operator==(const ConsentDetail&) const = default;
};

boost::json::object consent_detail_to_json(const ConsentDetail& detail);
// Strict: every required member present and well-formed; kInvalidArgument names the first fault.
Result<ConsentDetail> parse_consent_detail(const boost::json::value& value);

// A signed artefact as it travels: status, the detail object exactly as signed, the signature.
struct SignedArtefact {
  ConsentStatus status = ConsentStatus::kGranted;
  ConsentDetail detail;
  boost::json::object detail_json;  // the signed bytes are canonical_json(detail_json)
  std::string signature;            // standard base64 of the 64-byte Ed25519 signature
};

// An artefact whose signature a trusted consent-manager key has checked. Only ArtefactVerifier
// makes one, so code that holds a VerifiedArtefact cannot have skipped the check.
class VerifiedArtefact {
 public:
  const SignedArtefact& artefact() const { return artefact_; }
  const ConsentDetail& detail() const { return artefact_.detail; }

 private:
  friend class ArtefactVerifier;
  explicit VerifiedArtefact(SignedArtefact artefact) : artefact_(std::move(artefact)) {}
  SignedArtefact artefact_;
};

// The CM's signing key. The key id is the first 16 hex digits of SHA-256 of the public key.
class ArtefactSigner {
 public:
  static Result<ArtefactSigner> from_seed(const crypto::SecretBytes& seed);
  // Signs `detail` and returns the artefact carrying it.
  Result<SignedArtefact> sign(ConsentStatus status, const ConsentDetail& detail) const;
  // Standard base64 of the signature over the RFC 8785 form of any object (a message body).
  Result<std::string> sign_object(const boost::json::object& object) const;
  // The Ed25519 signature of `message` as it is (for JWTs, whose signed bytes are fixed text).
  std::array<std::uint8_t, 64> sign_bytes(std::span<const std::uint8_t> message) const;
  const std::array<std::uint8_t, 32>& public_key() const { return public_key_; }
  const std::string& key_id() const { return key_id_; }
  // {"keys":[{"kty":"OKP","crv":"Ed25519","x":...,"kid":...,"alg":"EdDSA","use":"sig"}]}
  boost::json::object jwks() const;

 private:
  ArtefactSigner() = default;
  crypto::SecretBytes secret_key_;
  std::array<std::uint8_t, 32> public_key_{};
  std::string key_id_;
};

// Checks artefacts against the public keys a HIP trusts for its consent manager.
class ArtefactVerifier {
 public:
  static constexpr std::size_t kTrustedKeysMax = 16;
  // Reads the Ed25519 keys of a JWKS; keys of other types are skipped, none at all is an error.
  static Result<ArtefactVerifier> from_jwks(const boost::json::value& jwks);
  static ArtefactVerifier from_public_key(const std::array<std::uint8_t, 32>& key);

  // Parses an artefact as ABDM's hip/notify carries it ({status, consentId, consentDetail,
  // signature}) and checks its signature: kPermissionDenied for a signature no trusted key made,
  // kInvalidArgument for a malformed artefact or a consentId that differs from the detail's.
  Result<VerifiedArtefact> open(const boost::json::object& notification) const;
  // Checks an artefact read back from storage (or just signed) the same way.
  Result<VerifiedArtefact> verify(SignedArtefact artefact) const;
  // Checks the signature over a detail object as received.
  Status verify_signature(const boost::json::object& detail_json, std::string_view signature) const;
  // True when one of the trusted keys made `signature` over `message` as it is.
  bool verify_bytes(std::span<const std::uint8_t> message,
                    std::span<const std::uint8_t> signature) const;

 private:
  std::vector<std::array<std::uint8_t, 32>> keys_;
};

// ABDM's notification body for a HIP: {status, consentId, consentDetail, signature}.
boost::json::object signed_artefact_to_json(const SignedArtefact& artefact);

}  // namespace kavach::consent
