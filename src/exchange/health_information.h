// The messages of ABDM's data flow (v0.5 health-information/*), parsed strictly and written in
// exactly the shapes of ../shared/reference/abdm/*.yml:
//   hiRequest       {consent{id}, dateRange{from,to}, dataPushUrl, keyMaterial}
//   keyMaterial     {cryptoAlg "ECDH", curve "Curve25519", dhPublicKey{expiry, parameters,
//                    keyValue}, nonce}
//   a pushed page   {pageNumber, pageCount, transactionId, entries[{content | link, media,
//                    checksum, careContextReference}], keyMaterial}
//   notification    {consentId, transactionId, doneAt, notifier{type, id},
//                    statusNotification{sessionStatus, hipId,
//                    statusResponses[{careContextReference, hiStatus, description}]}}
// Every parser names the field at fault; all of them read outside input (fuzz/health_information).
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/error.h"
#include "consent/consent_terms.h"
#include "exchange/fidelius.h"

namespace kavach::exchange {

inline constexpr std::string_view kHipRequestPath = "/v0.5/health-information/hip/request";
inline constexpr std::string_view kHipOnRequestPath = "/v0.5/health-information/hip/on-request";
inline constexpr std::string_view kHiuOnRequestPath = "/v0.5/health-information/hiu/on-request";
inline constexpr std::string_view kCmRequestPath = "/v0.5/health-information/cm/request";
inline constexpr std::string_view kNotifyPath = "/v0.5/health-information/notify";
// Kavach's CM passes a HIP's final status on to the HIU (ABDM leaves the HIU to time out).
inline constexpr std::string_view kHiuNotifyPath = "/v0.5/health-information/hiu/notify";
inline constexpr std::string_view kTransferPath = "/v0.5/health-information/transfer";
inline constexpr std::string_view kFhirMedia = "application/fhir+json";
inline constexpr std::size_t kEntriesPerPageMax = 100;

struct KeyMaterial {
  FideliusPublicKey public_key{};
  FideliusNonce nonce{};
  std::int64_t expiry_ms = 0;
};

struct HiRequest {
  std::string consent_id;
  consent::DateRange date_range;
  std::string data_push_url;
  KeyMaterial key_material;
};

struct PageEntry {
  std::string content;   // base64 ciphertext, or empty for a link entry
  std::string link;      // a URL to fetch the ciphertext from, or empty
  std::string checksum;  // base64 MD5 of the plaintext
  std::string care_context_reference;
};

struct DataPage {
  std::string transaction_id;
  std::int64_t page_number = 0;  // from 1
  std::int64_t page_count = 0;
  std::vector<PageEntry> entries;
  KeyMaterial key_material;
};

enum class SessionStatus { kTransferred, kFailed };
enum class HiStatus { kDelivered, kOk, kErrored };

struct CareContextStatus {
  std::string care_context_reference;
  HiStatus status = HiStatus::kDelivered;
  std::string description;
};

struct HiNotification {
  std::string consent_id;
  std::string transaction_id;
  std::int64_t done_at_ms = 0;
  std::string notifier_type;  // HIP or HIU
  std::string notifier_id;
  SessionStatus session_status = SessionStatus::kTransferred;
  std::string hip_id;
  std::vector<CareContextStatus> statuses;
};

Result<KeyMaterial> parse_key_material(const boost::json::value& value);
boost::json::object key_material_to_json(const KeyMaterial& key);
Result<HiRequest> parse_hi_request(const boost::json::value& value);
boost::json::object hi_request_to_json(const HiRequest& request);
Result<DataPage> parse_data_page(const boost::json::value& value);
boost::json::object data_page_to_json(const DataPage& page);
Result<HiNotification> parse_notification(const boost::json::value& value);
boost::json::object notification_to_json(const HiNotification& notification);
std::string_view session_status_code(SessionStatus status);
std::string_view hi_status_code(HiStatus status);

// ABDM's checksum of an entry: base64 of the MD5 of the plaintext (an integrity check against
// mistakes, not an attacker: the AES-GCM tag is what authenticates the content).
std::string content_checksum(std::string_view plaintext);

// A UUID in the canonical 8-4-4-4-12 hex form (transaction and consent ids).
bool is_uuid(std::string_view text);

// True when `url` is the registered URL `base` or a path below it (same scheme, host and port):
// where a push or a link may point.
bool is_under_registered_url(std::string_view url, std::string_view base);

}  // namespace kavach::exchange
