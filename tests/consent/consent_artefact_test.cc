#include "consent/consent_artefact.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/canonical_json.h"
#include "common/time_format.h"

namespace kavach::consent {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

crypto::SecretBytes seed(std::uint8_t fill) {
  std::vector<std::uint8_t> bytes(32, fill);
  return crypto::SecretBytes(bytes);
}

ConsentDetail sample_detail() {
  ConsentDetail detail;
  detail.consent_id = "0f8f6d2e-2c1b-4a9e-9c35-0d6f1e6b7a11";
  detail.created_at_ms = kNow;
  detail.patient_id = "hina.patel79@sbx";
  detail.care_contexts = {{"PT-1", "OP-2026-01"}};
  detail.purpose = Purpose::kCareManagement;
  detail.hip_id = "aiims-delhi";
  detail.hip_name = "AIIMS New Delhi";
  detail.hiu_id = "apollo-chennai";
  detail.requester = Requester{"Dr. Manju", "REGNO", "MH1001", "https://www.mciindia.org"};
  detail.consent_manager_id = "sbx";
  detail.hi_types = {HiType::kDiagnosticReport, HiType::kPrescription};
  detail.permission.access_mode = AccessMode::kView;
  detail.permission.date_range = {kNow - 86'400'000LL * 365, kNow};
  detail.permission.data_erase_at_ms = kNow + 86'400'000LL * 30;
  detail.permission.frequency = {FrequencyUnit::kHour, 1, 0};
  return detail;
}

TEST(ConsentDetail, RoundTripsThroughAbdmJson) {
  const ConsentDetail detail = sample_detail();
  const auto json = consent_detail_to_json(detail);
  EXPECT_EQ(json.at("hiTypes").at(0), "DiagnosticReport");
  EXPECT_EQ(json.at("permission").at("frequency").at("unit"), "HOUR");
  EXPECT_EQ(json.at("purpose").at("code"), "CAREMGT");
  EXPECT_EQ(json.at("createdAt").as_string(), format_instant_ms(kNow));
  auto parsed = parse_consent_detail(boost::json::value(json));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(*parsed, detail);
}

TEST(ConsentDetail, NamesTheFirstFaultyField) {
  auto json = consent_detail_to_json(sample_detail());
  json["hiTypes"] = boost::json::array{"XRay"};
  EXPECT_NE(parse_consent_detail(json).error().message.find("hiTypes"), std::string::npos);
  json = consent_detail_to_json(sample_detail());
  json["permission"].as_object()["frequency"].as_object()["value"] = 0;
  EXPECT_NE(parse_consent_detail(json).error().message.find("permission.frequency.value"),
            std::string::npos);
  json = consent_detail_to_json(sample_detail());
  json["permission"].as_object()["dateRange"].as_object()["from"] = "2026-02-30T00:00:00Z";
  EXPECT_NE(parse_consent_detail(json).error().message.find("permission.dateRange.from"),
            std::string::npos);
  json = consent_detail_to_json(sample_detail());
  json.erase("hip");
  EXPECT_NE(parse_consent_detail(json).error().message.find("hip"), std::string::npos);
}

TEST(ArtefactSigner, SignaturesVerifyAndSurviveReserialisation) {
  auto signer = ArtefactSigner::from_seed(seed(1));
  ASSERT_TRUE(signer.has_value());
  auto artefact = signer->sign(ConsentStatus::kGranted, sample_detail());
  ASSERT_TRUE(artefact.has_value());
  auto verifier = ArtefactVerifier::from_jwks(boost::json::value(signer->jwks()));
  ASSERT_TRUE(verifier.has_value()) << verifier.error().message;
  // As it would arrive over the wire: serialised, with members in another order.
  const std::string wire = boost::json::serialize(signed_artefact_to_json(*artefact));
  auto reparsed = boost::json::parse(wire).as_object();
  auto detail = reparsed["consentDetail"].as_object();
  boost::json::object reordered;
  for (auto it = detail.end(); it != detail.begin();) {
    --it;
    reordered[it->key()] = it->value();
  }
  reparsed["consentDetail"] = reordered;
  auto opened = verifier->open(reparsed);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_EQ(opened->detail(), sample_detail());
  EXPECT_EQ(opened->artefact().status, ConsentStatus::kGranted);
}

TEST(ArtefactVerifier, RefusesForgedTamperedAndMismatchedArtefacts) {
  auto signer = ArtefactSigner::from_seed(seed(1));
  auto rogue = ArtefactSigner::from_seed(seed(2));
  const auto verifier = ArtefactVerifier::from_public_key(signer->public_key());

  auto forged = signed_artefact_to_json(*rogue->sign(ConsentStatus::kGranted, sample_detail()));
  auto refused = verifier.open(forged);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);

  auto tampered = signed_artefact_to_json(*signer->sign(ConsentStatus::kGranted, sample_detail()));
  tampered["consentDetail"].as_object()["hiTypes"].as_array().emplace_back("OPConsultation");
  EXPECT_EQ(verifier.open(tampered).error().code, ErrorCode::kPermissionDenied);

  auto renamed = signed_artefact_to_json(*signer->sign(ConsentStatus::kGranted, sample_detail()));
  renamed["consentId"] = "another";
  EXPECT_EQ(verifier.open(renamed).error().code, ErrorCode::kInvalidArgument);

  auto bad_signature =
      signed_artefact_to_json(*signer->sign(ConsentStatus::kGranted, sample_detail()));
  bad_signature["signature"] = "not base64!";
  EXPECT_EQ(verifier.open(bad_signature).error().code, ErrorCode::kPermissionDenied);

  // A typed detail edited after signing does not pass as verified.
  auto artefact = *signer->sign(ConsentStatus::kGranted, sample_detail());
  artefact.detail.hi_types.push_back(HiType::kOpConsultation);
  EXPECT_EQ(verifier.verify(artefact).error().code, ErrorCode::kPermissionDenied);
}

TEST(ArtefactSigner, PublishesAnEd25519Jwks) {
  auto signer = ArtefactSigner::from_seed(seed(3));
  const auto jwks = signer->jwks();
  const auto& key = jwks.at("keys").at(0).as_object();
  EXPECT_EQ(key.at("kty"), "OKP");
  EXPECT_EQ(key.at("crv"), "Ed25519");
  EXPECT_EQ(key.at("kid").as_string().size(), 16U);
  EXPECT_EQ(key.at("x").as_string().size(), 43U);  // 32 bytes in unpadded base64url
  EXPECT_FALSE(ArtefactVerifier::from_jwks(boost::json::parse(R"({"keys":[]})")).has_value());
  EXPECT_FALSE(ArtefactVerifier::from_jwks(boost::json::parse(R"([])")).has_value());
}

TEST(ConsentTerms, ParsesAConsentRequestAndRefusesPastErasure) {
  ConsentTerms terms;
  terms.patient_id = "hina.patel79@sbx";
  terms.hiu_id = "apollo-chennai";
  terms.requester = Requester{"Dr. Manju", "REGNO", "MH1001", ""};
  terms.hi_types = {HiType::kPrescription};
  terms.permission = sample_detail().permission;
  const auto json = consent_terms_to_json(terms);
  auto parsed = parse_consent_terms(json, kNow);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(*parsed, terms);
  auto late = parse_consent_terms(json, terms.permission.data_erase_at_ms);
  EXPECT_NE(late.error().message.find("dataEraseAt"), std::string::npos);
  auto without_hip = json;
  without_hip["careContexts"] = care_contexts_to_json({{"PT-1", "OP-1"}});
  EXPECT_NE(parse_consent_terms(without_hip, kNow).error().message.find("hip"), std::string::npos);
}

TEST(ConsentTerms, AGrantMayNarrowButNeverWiden) {
  ConsentTerms asked;
  asked.patient_id = "hina.patel79@sbx";
  asked.hiu_id = "apollo-chennai";
  asked.hip_id = "aiims-delhi";
  asked.care_contexts = {{"PT-1", "OP-1"}, {"PT-1", "OP-2"}};
  asked.hi_types = {HiType::kPrescription, HiType::kDiagnosticReport};
  asked.permission = sample_detail().permission;
  std::string why;
  ConsentTerms narrowed = asked;
  narrowed.hi_types = {HiType::kDiagnosticReport};
  narrowed.care_contexts = {{"PT-1", "OP-2"}};
  narrowed.permission.date_range.from_ms += 1000;
  narrowed.permission.data_erase_at_ms -= 1000;
  narrowed.permission.frequency = {FrequencyUnit::kDay, 1, 0};
  EXPECT_TRUE(within(narrowed, asked, &why)) << why;

  const auto widened = [&](auto change) {
    ConsentTerms grant = asked;
    change(grant);
    return !within(grant, asked, &why);
  };
  EXPECT_TRUE(widened([](ConsentTerms& g) { g.hi_types.push_back(HiType::kOpConsultation); }));
  EXPECT_TRUE(widened([](ConsentTerms& g) { g.hi_types.clear(); }));
  EXPECT_TRUE(widened([](ConsentTerms& g) { g.care_contexts.push_back({"PT-1", "OP-9"}); }));
  EXPECT_TRUE(widened([](ConsentTerms& g) { g.care_contexts.clear(); }));
  EXPECT_TRUE(widened([](ConsentTerms& g) { g.permission.date_range.from_ms -= 1; }));
  EXPECT_TRUE(widened([](ConsentTerms& g) { g.permission.date_range.to_ms += 1; }));
  EXPECT_TRUE(widened([](ConsentTerms& g) { g.permission.data_erase_at_ms += 1; }));
  EXPECT_TRUE(widened([](ConsentTerms& g) { g.permission.frequency.repeats = 1; }));
  EXPECT_TRUE(widened([](ConsentTerms& g) {
    g.permission.frequency.unit = FrequencyUnit::kHour, g.permission.frequency.value = 1,
    g.permission.frequency.repeats = 3;
  }));
  EXPECT_TRUE(widened([](ConsentTerms& g) { g.hip_id = "other-hip"; }));
  EXPECT_TRUE(widened([](ConsentTerms& g) { g.purpose = Purpose::kPublicHealth; }));
  EXPECT_TRUE(widened([](ConsentTerms& g) { g.permission.access_mode = AccessMode::kStore; }));
  EXPECT_EQ(why, "the access mode cannot change");
}

}  // namespace
}  // namespace kavach::consent
