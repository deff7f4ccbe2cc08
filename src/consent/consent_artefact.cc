#include "consent/consent_artefact.h"

#include <algorithm>
#include <utility>

#include <sodium.h>
#include <boost/json.hpp>

#include "audit/merkle_tree.h"
#include "common/canonical_json.h"
#include "common/time_format.h"
#include "consent/json_fields.h"
#include "crypto/encoding.h"
#include "crypto/sodium.h"

namespace kavach::consent {
namespace {

Result<std::vector<std::uint8_t>> signed_bytes(const boost::json::object& detail_json) {
  ASSIGN_OR_RETURN(const std::string canonical, canonical_json(boost::json::value(detail_json)));
  return std::vector<std::uint8_t>(canonical.begin(), canonical.end());
}

}  // namespace

boost::json::object consent_detail_to_json(const ConsentDetail& detail) {
  boost::json::object object{{"schemaVersion", detail.schema_version},
                             {"consentId", detail.consent_id},
                             {"createdAt", format_instant_ms(detail.created_at_ms)},
                             {"patient", {{"id", detail.patient_id}}},
                             {"careContexts", care_contexts_to_json(detail.care_contexts)},
                             {"purpose", purpose_to_json(detail.purpose)}};
  boost::json::object hip{{"id", detail.hip_id}};
  if (!detail.hip_name.empty()) hip["name"] = detail.hip_name;
  object["hip"] = std::move(hip);
  if (!detail.hiu_id.empty()) object["hiu"] = {{"id", detail.hiu_id}};
  if (detail.requester) object["requester"] = requester_to_json(*detail.requester);
  object["consentManager"] = {{"id", detail.consent_manager_id}};
  object["hiTypes"] = hi_types_to_json(detail.hi_types);
  object["permission"] = permission_to_json(detail.permission);
  return object;
}

Result<ConsentDetail> parse_consent_detail(const boost::json::value& value) {
  ASSIGN_OR_RETURN(const boost::json::object& object, json_object(value, "consentDetail"));
  ConsentDetail detail;
  ASSIGN_OR_RETURN(detail.schema_version,
                   optional_string(object, "schemaVersion", "consentDetail"));
  ASSIGN_OR_RETURN(detail.consent_id, required_string(object, "consentId", "consentDetail"));
  ASSIGN_OR_RETURN(detail.created_at_ms, required_instant(object, "createdAt", "consentDetail"));
  ASSIGN_OR_RETURN(detail.patient_id, required_id_object(object, "patient"));
  const auto* care_contexts = object.if_contains("careContexts");
  if (care_contexts == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "consentDetail.careContexts is required");
  }
  ASSIGN_OR_RETURN(detail.care_contexts, parse_care_contexts(care_contexts));
  const auto* purpose = object.if_contains("purpose");
  if (purpose == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "consentDetail.purpose is required");
  }
  ASSIGN_OR_RETURN(detail.purpose, parse_purpose_object(*purpose));
  ASSIGN_OR_RETURN(detail.hip_id, required_id_object(object, "hip"));
  ASSIGN_OR_RETURN(const boost::json::object& hip, json_object(object.at("hip"), "hip"));
  ASSIGN_OR_RETURN(detail.hip_name, optional_string(hip, "name", "hip"));
  if (object.contains("hiu")) {
    ASSIGN_OR_RETURN(detail.hiu_id, required_id_object(object, "hiu"));
  }
  if (const auto* requester = object.if_contains("requester")) {
    ASSIGN_OR_RETURN(detail.requester, parse_requester(*requester));
  }
  ASSIGN_OR_RETURN(detail.consent_manager_id, required_id_object(object, "consentManager"));
  const auto* hi_types = object.if_contains("hiTypes");
  if (hi_types == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "consentDetail.hiTypes is required");
  }
  ASSIGN_OR_RETURN(detail.hi_types, parse_hi_types(*hi_types));
  const auto* permission = object.if_contains("permission");
  if (permission == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "consentDetail.permission is required");
  }
  ASSIGN_OR_RETURN(detail.permission, parse_permission(*permission));
  return detail;
}

Result<ArtefactSigner> ArtefactSigner::from_seed(const crypto::SecretBytes& seed) {
  crypto::ensure_sodium();
  if (seed.size() != crypto_sign_SEEDBYTES) {
    return make_error(ErrorCode::kInvalidArgument, "an Ed25519 seed is 32 bytes");
  }
  ArtefactSigner signer;
  signer.secret_key_ = crypto::SecretBytes(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(signer.public_key_.data(), signer.secret_key_.mutable_view().data(),
                           seed.view().data());
  const auto digest = audit::sha256(signer.public_key_);
  signer.key_id_ = crypto::to_hex(std::span<const std::uint8_t>(digest).first(8));
  return signer;
}

Result<SignedArtefact> ArtefactSigner::sign(ConsentStatus status,
                                            const ConsentDetail& detail) const {
  SignedArtefact artefact;
  artefact.status = status;
  artefact.detail = detail;
  artefact.detail_json = consent_detail_to_json(detail);
  ASSIGN_OR_RETURN(artefact.signature, sign_object(artefact.detail_json));
  return artefact;
}

Result<std::string> ArtefactSigner::sign_object(const boost::json::object& object) const {
  ASSIGN_OR_RETURN(const auto message, signed_bytes(object));
  return crypto::to_base64(sign_bytes(message));
}

std::array<std::uint8_t, 64> ArtefactSigner::sign_bytes(
    std::span<const std::uint8_t> message) const {
  std::array<std::uint8_t, crypto_sign_BYTES> signature{};
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(),
                       secret_key_.view().data());
  return signature;
}

bool ArtefactVerifier::verify_bytes(std::span<const std::uint8_t> message,
                                    std::span<const std::uint8_t> signature) const {
  crypto::ensure_sodium();
  if (signature.size() != crypto_sign_BYTES) return false;
  return std::any_of(keys_.begin(), keys_.end(), [&](const auto& key) {
    return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                       key.data()) == 0;
  });
}

boost::json::object ArtefactSigner::jwks() const {
  boost::json::object key{
      {"kty", "OKP"},   {"crv", "Ed25519"}, {"x", crypto::to_base64url(public_key_)},
      {"kid", key_id_}, {"alg", "EdDSA"},   {"use", "sig"}};
  return {{"keys", boost::json::array{std::move(key)}}};
}

Result<ArtefactVerifier> ArtefactVerifier::from_jwks(const boost::json::value& jwks) {
  const auto* object = jwks.if_object();
  const auto* keys = object ? object->if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) {
    return make_error(ErrorCode::kInvalidArgument, "a JWKS is an object with a keys list");
  }
  ArtefactVerifier verifier;
  for (const auto& key : keys->get_array()) {
    const auto* fields = key.if_object();
    if (fields == nullptr) continue;
    const auto* kty = fields->if_contains("kty");
    const auto* crv = fields->if_contains("crv");
    const auto* x = fields->if_contains("x");
    if (kty == nullptr || crv == nullptr || x == nullptr || !x->is_string() || *kty != "OKP" ||
        *crv != "Ed25519") {
      continue;
    }
    auto bytes = crypto::from_base64url(x->get_string());
    if (!bytes || bytes->size() != 32) {
      return make_error(ErrorCode::kInvalidArgument, "a JWKS Ed25519 key is 32 bytes");
    }
    if (verifier.keys_.size() == kTrustedKeysMax) {
      return make_error(ErrorCode::kInvalidArgument, "a JWKS holds at most 16 keys");
    }
    std::array<std::uint8_t, 32> public_key{};
    std::copy(bytes->begin(), bytes->end(), public_key.begin());
    verifier.keys_.push_back(public_key);
  }
  if (verifier.keys_.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "the JWKS holds no Ed25519 key");
  }
  return verifier;
}

ArtefactVerifier ArtefactVerifier::from_public_key(const std::array<std::uint8_t, 32>& key) {
  ArtefactVerifier verifier;
  verifier.keys_.push_back(key);
  return verifier;
}

Status ArtefactVerifier::verify_signature(const boost::json::object& detail_json,
                                          std::string_view signature) const {
  crypto::ensure_sodium();
  auto signature_bytes = crypto::from_base64(signature);
  if (!signature_bytes || signature_bytes->size() != crypto_sign_BYTES) {
    return make_error(ErrorCode::kPermissionDenied, "the artefact's signature is malformed");
  }
  ASSIGN_OR_RETURN(const auto message, signed_bytes(detail_json));
  if (verify_bytes(message, *signature_bytes)) return {};
  return make_error(ErrorCode::kPermissionDenied,
                    "the artefact's signature was not made by the consent manager");
}

Result<VerifiedArtefact> ArtefactVerifier::verify(SignedArtefact artefact) const {
  RETURN_IF_ERROR(verify_signature(artefact.detail_json, artefact.signature));
  // The typed detail must be what was signed, not a copy edited after parsing.
  ASSIGN_OR_RETURN(const ConsentDetail signed_detail,
                   parse_consent_detail(boost::json::value(artefact.detail_json)));
  if (!(signed_detail == artefact.detail)) {
    return make_error(ErrorCode::kPermissionDenied, "the artefact differs from what was signed");
  }
  return VerifiedArtefact(std::move(artefact));
}

Result<VerifiedArtefact> ArtefactVerifier::open(const boost::json::object& notification) const {
  SignedArtefact artefact;
  ASSIGN_OR_RETURN(const std::string status,
                   required_string(notification, "status", "notification"));
  auto parsed_status = parse_consent_status(status);
  if (!parsed_status) {
    return make_error(ErrorCode::kInvalidArgument,
                      "notification.status is one of GRANTED, REVOKED, EXPIRED, DENIED, REQUESTED");
  }
  artefact.status = *parsed_status;
  const auto* detail = notification.if_contains("consentDetail");
  if (detail == nullptr || !detail->is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "notification.consentDetail is required");
  }
  artefact.detail_json = detail->get_object();
  ASSIGN_OR_RETURN(artefact.signature, required_string(notification, "signature", "notification"));
  RETURN_IF_ERROR(verify_signature(artefact.detail_json, artefact.signature));
  ASSIGN_OR_RETURN(artefact.detail, parse_consent_detail(*detail));
  ASSIGN_OR_RETURN(const std::string consent_id,
                   optional_string(notification, "consentId", "notification"));
  if (!consent_id.empty() && consent_id != artefact.detail.consent_id) {
    return make_error(ErrorCode::kInvalidArgument,
                      "notification.consentId differs from consentDetail.consentId");
  }
  return VerifiedArtefact(std::move(artefact));
}

boost::json::object signed_artefact_to_json(const SignedArtefact& artefact) {
  return {{"status", consent_status_code(artefact.status)},
          {"consentId", artefact.detail.consent_id},
          {"consentDetail", artefact.detail_json},
          {"signature", artefact.signature},
          {"grantAcknowledgement", false}};
}

}  // namespace kavach::consent
