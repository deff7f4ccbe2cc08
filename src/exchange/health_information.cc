#include "exchange/health_information.h"

#include <openssl/evp.h>

#include <array>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/time_format.h"
#include "consent/json_fields.h"
#include "crypto/encoding.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;
using consent::json_object;
using consent::member_or_null;
using consent::required_instant;
using consent::required_integer;
using consent::required_string;

constexpr std::string_view kCryptoAlg = "ECDH";
constexpr std::string_view kCurve = "Curve25519";
constexpr std::string_view kKeyParameters = "Curve25519/32byte random key";
// Ciphertext of one entry, in base64; X.509 keys are about 330 characters.
constexpr std::size_t kKeyTextMax = 1024;

Error invalid(std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(message)};
}

// A string member of any length up to `max` (ciphertext and keys exceed json_fields' bound).
Result<std::string> long_string(const json::object& object, std::string_view name,
                                std::string_view where, std::size_t max) {
  const auto* value = object.if_contains(name);
  const auto* text = value == nullptr ? nullptr : value->if_string();
  if (text == nullptr || text->empty()) {
    return tl::unexpected(invalid(fmt::format("{}.{} must be a non-empty string", where, name)));
  }
  if (text->size() > max) {
    return tl::unexpected(invalid(fmt::format("{}.{} is too long", where, name)));
  }
  return std::string(*text);
}

Result<consent::DateRange> parse_date_range(const json::value& value, std::string_view where) {
  ASSIGN_OR_RETURN(const json::object& range, json_object(value, where));
  consent::DateRange parsed;
  ASSIGN_OR_RETURN(parsed.from_ms, required_instant(range, "from", where));
  ASSIGN_OR_RETURN(parsed.to_ms, required_instant(range, "to", where));
  if (parsed.from_ms > parsed.to_ms) {
    return tl::unexpected(invalid(fmt::format("{}.from is after {}.to", where, where)));
  }
  return parsed;
}

}  // namespace

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (text[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

bool is_under_registered_url(std::string_view url, std::string_view base) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  if (base.empty() || !url.starts_with(base)) return false;
  return url.size() == base.size() || url[base.size()] == '/';
}

Result<KeyMaterial> parse_key_material(const json::value& value) {
  ASSIGN_OR_RETURN(const json::object& object, json_object(value, "keyMaterial"));
  ASSIGN_OR_RETURN(const auto algorithm, required_string(object, "cryptoAlg", "keyMaterial"));
  ASSIGN_OR_RETURN(const auto curve, required_string(object, "curve", "keyMaterial"));
  if (algorithm != kCryptoAlg || curve != kCurve) {
    return tl::unexpected(invalid("keyMaterial must be cryptoAlg ECDH on curve Curve25519"));
  }
  ASSIGN_OR_RETURN(const json::object& key,
                   json_object(member_or_null(object, "dhPublicKey"), "keyMaterial.dhPublicKey"));
  KeyMaterial parsed;
  ASSIGN_OR_RETURN(parsed.expiry_ms, required_instant(key, "expiry", "keyMaterial.dhPublicKey"));
  ASSIGN_OR_RETURN(const auto key_value,
                   long_string(key, "keyValue", "keyMaterial.dhPublicKey", kKeyTextMax));
  auto public_key = parse_public_key(key_value);
  if (!public_key) {
    return tl::unexpected(
        invalid("keyMaterial.dhPublicKey.keyValue: " + public_key.error().message));
  }
  parsed.public_key = *public_key;
  ASSIGN_OR_RETURN(const auto nonce_text, required_string(object, "nonce", "keyMaterial"));
  auto nonce = parse_nonce(nonce_text);
  if (!nonce) return tl::unexpected(invalid("keyMaterial.nonce: " + nonce.error().message));
  parsed.nonce = *nonce;
  return parsed;
}

json::object key_material_to_json(const KeyMaterial& key) {
  return {{"cryptoAlg", kCryptoAlg},
          {"curve", kCurve},
          {"dhPublicKey",
           {{"expiry", format_instant_ms(key.expiry_ms)},
            {"parameters", kKeyParameters},
            {"keyValue", public_key_to_base64(key.public_key)}}},
          {"nonce", nonce_to_base64(key.nonce)}};
}

Result<HiRequest> parse_hi_request(const json::value& value) {
  ASSIGN_OR_RETURN(const json::object& object, json_object(value, "hiRequest"));
  HiRequest request;
  ASSIGN_OR_RETURN(const json::object& consent,
                   json_object(member_or_null(object, "consent"), "hiRequest.consent"));
  ASSIGN_OR_RETURN(request.consent_id, required_string(consent, "id", "hiRequest.consent"));
  ASSIGN_OR_RETURN(request.date_range,
                   parse_date_range(member_or_null(object, "dateRange"), "hiRequest.dateRange"));
  ASSIGN_OR_RETURN(request.data_push_url, required_string(object, "dataPushUrl", "hiRequest"));
  ASSIGN_OR_RETURN(request.key_material, parse_key_material(member_or_null(object, "keyMaterial")));
  return request;
}

json::object hi_request_to_json(const HiRequest& request) {
  return {{"consent", {{"id", request.consent_id}}},
          {"dateRange",
           {{"from", format_instant_ms(request.date_range.from_ms)},
            {"to", format_instant_ms(request.date_range.to_ms)}}},
          {"dataPushUrl", request.data_push_url},
          {"keyMaterial", key_material_to_json(request.key_material)}};
}

Result<DataPage> parse_data_page(const json::value& value) {
  ASSIGN_OR_RETURN(const json::object& object, json_object(value, "the page"));
  DataPage page;
  ASSIGN_OR_RETURN(page.transaction_id, required_string(object, "transactionId", ""));
  if (!is_uuid(page.transaction_id)) return tl::unexpected(invalid("transactionId must be a UUID"));
  ASSIGN_OR_RETURN(page.page_count, required_integer(object, "pageCount", "", 1, 1'000'000));
  ASSIGN_OR_RETURN(page.page_number,
                   required_integer(object, "pageNumber", "", 1, page.page_count));
  const auto* entries = object.if_contains("entries");
  if (entries == nullptr || !entries->is_array() || entries->as_array().empty() ||
      entries->as_array().size() > kEntriesPerPageMax) {
    return tl::unexpected(
        invalid(fmt::format("entries must be an array of 1 to {} entries", kEntriesPerPageMax)));
  }
  for (const auto& item : entries->as_array()) {
    ASSIGN_OR_RETURN(const json::object& entry, json_object(item, "entries[]"));
    PageEntry parsed;
    if (entry.contains("content")) {
      ASSIGN_OR_RETURN(parsed.content, long_string(entry, "content", "entries[]",
                                                   kFideliusCiphertextMax / 3 * 4 + 4));
    } else {
      ASSIGN_OR_RETURN(parsed.link, required_string(entry, "link", "entries[]"));
    }
    ASSIGN_OR_RETURN(const auto media, required_string(entry, "media", "entries[]"));
    if (media != kFhirMedia) {
      return tl::unexpected(invalid("entries[].media must be application/fhir+json"));
    }
    ASSIGN_OR_RETURN(parsed.checksum, required_string(entry, "checksum", "entries[]"));
    ASSIGN_OR_RETURN(parsed.care_context_reference,
                     required_string(entry, "careContextReference", "entries[]"));
    page.entries.push_back(std::move(parsed));
  }
  ASSIGN_OR_RETURN(page.key_material, parse_key_material(member_or_null(object, "keyMaterial")));
  return page;
}

json::object data_page_to_json(const DataPage& page) {
  json::array entries;
  for (const auto& entry : page.entries) {
    json::object out;
    if (entry.link.empty()) {
      out["content"] = entry.content;
    } else {
      out["link"] = entry.link;
    }
    out["media"] = kFhirMedia;
    out["checksum"] = entry.checksum;
    out["careContextReference"] = entry.care_context_reference;
    entries.push_back(std::move(out));
  }
  return {{"pageNumber", page.page_number},
          {"pageCount", page.page_count},
          {"transactionId", page.transaction_id},
          {"entries", std::move(entries)},
          {"keyMaterial", key_material_to_json(page.key_material)}};
}

std::string_view session_status_code(SessionStatus status) {
  return status == SessionStatus::kTransferred ? "TRANSFERRED" : "FAILED";
}

std::string_view hi_status_code(HiStatus status) {
  switch (status) {
    case HiStatus::kDelivered:
      return "DELIVERED";
    case HiStatus::kOk:
      return "OK";
    case HiStatus::kErrored:
      return "ERRORED";
  }
  return "ERRORED";
}

Result<HiNotification> parse_notification(const json::value& value) {
  ASSIGN_OR_RETURN(const json::object& object, json_object(value, "notification"));
  HiNotification parsed;
  ASSIGN_OR_RETURN(parsed.consent_id, required_string(object, "consentId", "notification"));
  ASSIGN_OR_RETURN(parsed.transaction_id, required_string(object, "transactionId", "notification"));
  ASSIGN_OR_RETURN(parsed.done_at_ms, required_instant(object, "doneAt", "notification"));
  ASSIGN_OR_RETURN(const json::object& notifier,
                   json_object(member_or_null(object, "notifier"), "notification.notifier"));
  ASSIGN_OR_RETURN(parsed.notifier_type,
                   required_string(notifier, "type", "notification.notifier"));
  ASSIGN_OR_RETURN(parsed.notifier_id, required_string(notifier, "id", "notification.notifier"));
  if (parsed.notifier_type != "HIP" && parsed.notifier_type != "HIU") {
    return tl::unexpected(invalid("notification.notifier.type must be HIP or HIU"));
  }
  constexpr std::string_view kWhere = "notification.statusNotification";
  ASSIGN_OR_RETURN(const json::object& status,
                   json_object(member_or_null(object, "statusNotification"), kWhere));
  ASSIGN_OR_RETURN(const auto session, required_string(status, "sessionStatus", kWhere));
  if (session == "TRANSFERRED") {
    parsed.session_status = SessionStatus::kTransferred;
  } else if (session == "FAILED") {
    parsed.session_status = SessionStatus::kFailed;
  } else {
    return tl::unexpected(
        invalid(fmt::format("{}.sessionStatus must be TRANSFERRED or FAILED", kWhere)));
  }
  ASSIGN_OR_RETURN(parsed.hip_id, required_string(status, "hipId", kWhere));
  if (const auto* responses = status.if_contains("statusResponses")) {
    if (!responses->is_array() || responses->as_array().size() > 1000) {
      return tl::unexpected(invalid(fmt::format("{}.statusResponses must be an array", kWhere)));
    }
    for (const auto& item : responses->as_array()) {
      ASSIGN_OR_RETURN(const json::object& response, json_object(item, "statusResponses[]"));
      CareContextStatus one;
      ASSIGN_OR_RETURN(one.care_context_reference,
                       required_string(response, "careContextReference", "statusResponses[]"));
      ASSIGN_OR_RETURN(const auto code, required_string(response, "hiStatus", "statusResponses[]"));
      if (code == "DELIVERED") {
        one.status = HiStatus::kDelivered;
      } else if (code == "OK") {
        one.status = HiStatus::kOk;
      } else if (code == "ERRORED") {
        one.status = HiStatus::kErrored;
      } else {
        return tl::unexpected(
            invalid("statusResponses[].hiStatus must be DELIVERED, OK or ERRORED"));
      }
      ASSIGN_OR_RETURN(one.description,
                       consent::optional_string(response, "description", "statusResponses[]"));
      parsed.statuses.push_back(std::move(one));
    }
  }
  return parsed;
}

json::object notification_to_json(const HiNotification& notification) {
  json::array responses;
  for (const auto& status : notification.statuses) {
    json::object one{{"careContextReference", status.care_context_reference},
                     {"hiStatus", hi_status_code(status.status)}};
    if (!status.description.empty()) one["description"] = status.description;
    responses.push_back(std::move(one));
  }
  return {{"consentId", notification.consent_id},
          {"transactionId", notification.transaction_id},
          {"doneAt", format_instant_ms(notification.done_at_ms)},
          {"notifier", {{"type", notification.notifier_type}, {"id", notification.notifier_id}}},
          {"statusNotification",
           {{"sessionStatus", session_status_code(notification.session_status)},
            {"hipId", notification.hip_id},
            {"statusResponses", std::move(responses)}}}};
}

std::string content_checksum(std::string_view plaintext) {
  std::array<std::uint8_t, 16> digest{};
  unsigned int size = 0;
  EVP_Digest(plaintext.data(), plaintext.size(), digest.data(), &size, EVP_md5(), nullptr);
  return crypto::to_base64(digest);
}

}  // namespace kavach::exchange
