// Every message Kavach receives, as ABDM's own OpenAPI files exemplify it, is accepted by the
// receiver's parser. The messages (tests/conformance/examples/, generated from the specs by
// tests/conformance/abdm_conformance.mjs and checked to be current by CTest) carry the specs'
// `example` values. Where a spec gives no example the generator leaves the field empty, and where
// its example is a placeholder no receiver could accept (a public key "", a nonce written as a
// UUID, a purpose code left blank), each test below fills in a valid value and names the field:
// everything else is the spec's, unchanged.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "consent/consent_artefact.h"
#include "consent/consent_terms.h"
#include "exchange/health_information.h"
#include "exchange/hip_links.h"
#include "exchange/patient_links.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;

constexpr const char* kKey =
    "BAheD5rUqTy4V5xR4/6HWmYpopu5CO+KO8BECS0udNqUTSNo91TIqIIy1A4Vh+F94c+n9vAcwXU2bGcfsI5f69Y=";
constexpr const char* kNonce = "pk5xT1Xk+KUlf/LC1LZawKECPNvOvIzhZNEyIdh7oJE=";
constexpr const char* kInstant = "2026-11-29T05:00:00.000Z";
constexpr const char* kUuid = "5f7a535d-a3fd-416b-b069-c97d021fbacd";

json::object example(std::string_view path) {
  const char* source = std::getenv("KAVACH_SOURCE_DIR");
  std::string name(path.substr(1));
  for (auto& c : name) c = c == '/' ? '_' : c;
  const auto file = std::filesystem::path(source ? source : ".") / "tests/conformance/examples" /
                    (name + ".json");
  std::ifstream in(file);
  EXPECT_TRUE(in.good()) << file;
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str()).as_object();
}

// Sets the member at a slash-separated path ("hiRequest/keyMaterial/nonce"; digits index arrays).
void fill(json::value& root, std::string_view where, json::value value) {
  json::value* at = &root;
  std::size_t start = 0;
  for (;;) {
    const auto slash = where.find('/', start);
    const std::string key(where.substr(start, slash - start));
    json::value* next = nullptr;
    if (at->is_array()) {
      next = &at->as_array().at(std::stoul(key));
    } else {
      next = &at->as_object()[key];
    }
    if (slash == std::string_view::npos) {
      *next = std::move(value);
      return;
    }
    at = next;
    start = slash + 1;
  }
}

void fill_key_material(json::value& root, const std::string& at) {
  fill(root, at + "/dhPublicKey/keyValue", kKey);    // spec example: none
  fill(root, at + "/dhPublicKey/expiry", kInstant);  // none
  fill(root, at + "/nonce", kNonce);                 // spec example: a UUID, not 32 bytes
}

void fill_hi_request(json::value& root, const std::string& at) {
  fill(root, at + "/consent/id", kUuid);                       // none
  fill(root, at + "/dateRange/from", "2025-01-01T00:00:00Z");  // none
  fill(root, at + "/dateRange/to", "2026-01-01T00:00:00Z");    // none
  fill(root, at + "/dataPushUrl", "https://hiu.example/v0.5/health-information/transfer");
  fill_key_material(root, at + "/keyMaterial");
}

TEST(AbdmExamples, HealthInformationRequestsAreAccepted) {
  for (const auto path : {kCmRequestPath, kHipRequestPath}) {
    json::value message = example(path);
    fill_hi_request(message, "hiRequest");
    const auto parsed = parse_hi_request(message.at("hiRequest"));
    EXPECT_TRUE(parsed.has_value()) << path << ": " << parsed.error().message;
  }
}

TEST(AbdmExamples, APushedPageIsAccepted) {
  json::value message = example(kTransferPath);
  fill(message, "pageNumber", 1);  // spec example: none
  fill(message, "pageCount", 1);
  fill(message, "transactionId", kUuid);
  fill(message, "entries/0/checksum", "1B2M2Y8AsgTpgAmY7PhCfg==");
  fill_key_material(message, "keyMaterial");
  const auto parsed = parse_data_page(message);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->entries.at(0).care_context_reference, "RVH1008");  // the spec's own
}

TEST(AbdmExamples, NotificationsAreAccepted) {
  json::value message = example(kNotifyPath);
  fill(message, "notification/consentId", kUuid);
  fill(message, "notification/transactionId", kUuid);
  fill(message, "notification/doneAt", kInstant);
  fill(message, "notification/statusNotification/statusResponses/0/careContextReference", "v1");
  const auto parsed = parse_notification(message.at("notification"));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->notifier_id, "tmh");  // the spec's own
}

TEST(AbdmExamples, AConsentRequestIsAccepted) {
  json::value message = example("/v0.5/consent-requests/init");
  fill(message, "consent/purpose/code", "CAREMGT");  // none
  fill(message, "consent/hip/id", "aiims-delhi");
  fill(message, "consent/hiu/id", "apollo-chennai");
  fill(message, "consent/permission/dateRange/from", "2025-01-01T00:00:00Z");
  fill(message, "consent/permission/dateRange/to", "2026-01-01T00:00:00Z");
  fill(message, "consent/permission/dataEraseAt", "2027-01-01T00:00:00Z");
  fill(message, "consent/permission/frequency/value", 1);  // spec example: none (0 is no period)
  const auto parsed =
      consent::parse_consent_terms(message.at("consent").as_object(), 1'780'000'000'000);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->patient_id, "hinapatel@ndhm");  // the spec's own
}

TEST(AbdmExamples, AConsentArtefactNoticeIsAccepted) {
  json::value message = example("/v0.5/consents/hip/notify");
  const std::string detail = "notification/consentDetail";
  fill(message, detail + "/schemaVersion", "v0.5");  // none
  fill(message, detail + "/purpose/code", "CAREMGT");
  fill(message, detail + "/hip/id", "aiims-delhi");
  fill(message, detail + "/consentManager/id", "sbx");
  fill(message, detail + "/permission/dateRange/from", "2025-01-01T00:00:00Z");
  fill(message, detail + "/permission/dateRange/to", "2026-01-01T00:00:00Z");
  fill(message, detail + "/permission/dataEraseAt", "2027-01-01T00:00:00Z");
  fill(message, detail + "/createdAt", kInstant);
  fill(message, detail + "/consentId", kUuid);
  fill(message, "notification/consentId", kUuid);
  fill(message, detail + "/permission/frequency/value", 1);
  const auto parsed = consent::parse_consent_detail(message.at("notification").at("consentDetail"));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->patient_id, "hinapatel79@ndhm");  // the spec's own
}

TEST(AbdmExamples, DiscoveryAndLinkingMessagesAreAccepted) {
  json::value discover = example(kDiscoverPath);
  const auto query = parse_patient_query(discover.at("patient").as_object());
  ASSERT_TRUE(query.has_value()) << query.error().message;
  EXPECT_EQ(query->name, "chandler bing");  // the spec's own, unchanged
  for (const auto path : {kOnDiscoverPath, kLinkInitPath, kOnLinkConfirmPath}) {
    json::value message = example(path);
    fill(message, "patient/careContexts/0/referenceNumber", "RVH1008");  // spec example: none
    const auto contexts =
        parse_care_contexts(message.at("patient").at("careContexts"), "careContexts");
    EXPECT_TRUE(contexts.has_value()) << path << ": " << contexts.error().message;
  }
}

}  // namespace
}  // namespace kavach::exchange
