#include "consent/one_time_codes.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "crypto/encoding.h"
#include "crypto/keyed_hash.h"
#include "crypto/secret_bytes.h"
#include "crypto/sodium.h"

namespace kavach::consent {
namespace {

constexpr std::size_t kTicketIdBytes = 16;
constexpr int kRedeemRetriesMax = 5;

std::string new_code() {
  crypto::ensure_sodium();
  std::string code;
  for (std::size_t i = 0; i < kOneTimeCodeDigits; ++i)
    code.push_back(static_cast<char>('0' + randombytes_uniform(10)));
  return code;
}

bool well_formed_code(std::string_view code) {
  if (code.size() != kOneTimeCodeDigits) return false;
  for (const char c : code)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

Result<std::string> OneTimeCodes::code_tag(std::string_view ticket_id, std::string_view code) {
  ASSIGN_OR_RETURN(const auto key, keys_.key(std::string(kOneTimeCodeKey)));
  const std::string message = fmt::format("{}:{}", ticket_id, code);
  return crypto::to_hex(crypto::mac(key, crypto::as_bytes(message)));
}

Result<CodeTicket> OneTimeCodes::issue(std::string_view purpose, std::string_view mobile,
                                       std::string_view what_for, boost::json::object context,
                                       std::string_view peer) {
  if (!issue_per_peer_.try_acquire(peer)) {
    return make_error(ErrorCode::kResourceExhausted,
                      "too many one-time codes requested from this address; try again later");
  }
  if (!issue_per_number_.try_acquire(mobile)) {
    return make_error(ErrorCode::kResourceExhausted,
                      "too many one-time codes sent to this number; try again in a minute");
  }
  const std::string code = new_code();
  CodeTicket ticket;
  ticket.id = crypto::to_hex(crypto::SecretBytes::random(kTicketIdBytes).view());
  ticket.expires_at_ms = unix_ms(clock_.now()) + limits_.lifetime.count();
  ASSIGN_OR_RETURN(const std::string tag, code_tag(ticket.id, code));
  vault::Document document;
  document.type = std::string(kOneTimeCodeType);
  document.id = ticket.id;
  document.body = {{"purpose", purpose},
                   {"mobile", mobile},
                   {"code_tag", tag},
                   {"expires_at_ms", ticket.expires_at_ms},
                   {"wrong_tries", 0},
                   {"used", false},
                   {"context", std::move(context)}};
  RETURN_IF_ERROR(documents_.write(document, {}));
  RETURN_IF_ERROR(notifier_.send(Notice{
      "sms", std::string(mobile),
      fmt::format(
          "Kavach: {} is your one-time code to {}. It expires in {} minutes. Never share it.", code,
          what_for, std::chrono::duration_cast<std::chrono::minutes>(limits_.lifetime).count())}));
  return ticket;
}

Result<boost::json::object> OneTimeCodes::redeem(std::string_view ticket_id,
                                                 std::string_view purpose, std::string_view code,
                                                 std::string_view peer) {
  if (!redeem_per_peer_.try_acquire(peer)) {
    return make_error(ErrorCode::kResourceExhausted,
                      "too many one-time code attempts from this address; try again later");
  }
  // A ticket is 32 hex digits; anything else names no ticket and costs no store read.
  if (ticket_id.size() != kTicketIdBytes * 2 ||
      !std::all_of(ticket_id.begin(), ticket_id.end(),
                   [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; })) {
    return make_error(ErrorCode::kNotFound, "no such one-time code request; ask for a new code");
  }
  for (int attempt = 0; attempt < kRedeemRetriesMax; ++attempt) {
    ASSIGN_OR_RETURN(auto found, documents_.read(kOneTimeCodeType, ticket_id));
    if (!found || found->body.at("purpose").as_string() != purpose) {
      return make_error(ErrorCode::kNotFound, "no such one-time code request; ask for a new code");
    }
    vault::Document& document = *found;
    auto& body = document.body;
    if (body.at("used").as_bool()) {
      return make_error(ErrorCode::kFailedPrecondition,
                        "this one-time code was already used; ask for a new code");
    }
    const auto wrong_tries = body.at("wrong_tries").to_number<std::int64_t>();
    if (wrong_tries >= limits_.wrong_tries_max) {
      return make_error(ErrorCode::kPermissionDenied,
                        "this one-time code is locked after 3 wrong tries; ask for a new code");
    }
    if (unix_ms(clock_.now()) >= body.at("expires_at_ms").to_number<std::int64_t>()) {
      return make_error(ErrorCode::kUnauthenticated,
                        "this one-time code has expired; ask for a new code");
    }
    bool right = false;
    if (well_formed_code(code)) {
      ASSIGN_OR_RETURN(const std::string tag, code_tag(ticket_id, code));
      const auto& stored = body.at("code_tag").as_string();
      right =
          tag.size() == stored.size() && sodium_memcmp(tag.data(), stored.data(), tag.size()) == 0;
    }
    if (right) {
      body["used"] = true;
    } else {
      body["wrong_tries"] = wrong_tries + 1;
    }
    auto written = documents_.write(document, {});
    if (!written && written.error().code == ErrorCode::kConflict) continue;  // a racing try
    RETURN_IF_ERROR(written);
    if (right) return body.at("context").as_object();
    const auto left = limits_.wrong_tries_max - wrong_tries - 1;
    if (left == 0) {
      return make_error(ErrorCode::kPermissionDenied,
                        "wrong one-time code; it is now locked after 3 wrong tries");
    }
    return make_error(ErrorCode::kUnauthenticated, fmt::format("wrong one-time code; {} {} left",
                                                               left, left == 1 ? "try" : "tries"));
  }
  return make_error(ErrorCode::kUnavailable, "the one-time code is busy; try again");
}

}  // namespace kavach::consent
