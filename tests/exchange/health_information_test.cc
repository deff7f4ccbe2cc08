// ABDM's data-flow messages: written in the specs' shapes, read back equal, and refused with the
// field named when malformed.
#include "exchange/health_information.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace kavach::exchange {
namespace {

namespace json = boost::json;

KeyMaterial sample_key() {
  auto key = generate_key_pair();
  EXPECT_TRUE(key.has_value());
  return {key->public_key, generate_nonce(), 1'800'000'000'000};
}

TEST(HealthInformation, RequestsRoundTrip) {
  const HiRequest request{"0c5d6e16-51a7-4a34-8e6b-6a1b1f3e7a10",
                          {1'700'000'000'000, 1'750'000'000'000},
                          "https://hiu.example/v0.5/health-information/transfer",
                          sample_key()};
  const auto parsed = parse_hi_request(hi_request_to_json(request));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->consent_id, request.consent_id);
  EXPECT_EQ(parsed->date_range, request.date_range);
  EXPECT_EQ(parsed->data_push_url, request.data_push_url);
  EXPECT_EQ(parsed->key_material.public_key, request.key_material.public_key);
  EXPECT_EQ(parsed->key_material.nonce, request.key_material.nonce);
}

TEST(HealthInformation, MalformedRequestsNameTheField) {
  const auto body = hi_request_to_json({"c", {1, 2}, "https://x", sample_key()});
  const auto error_for = [&](auto change) {
    json::object changed = body;
    change(changed);
    auto parsed = parse_hi_request(changed);
    return parsed ? std::string("accepted") : parsed.error().message;
  };
  EXPECT_NE(error_for([](json::object& b) { b.erase("dataPushUrl"); }).find("dataPushUrl"),
            std::string::npos);
  EXPECT_NE(error_for([](json::object& b) {
              b["dateRange"].as_object()["from"] = "2030-01-01";
            }).find("dateRange"),
            std::string::npos);
  EXPECT_NE(error_for([](json::object& b) {
              b["keyMaterial"].as_object()["dhPublicKey"].as_object()["keyValue"] = "AAAA";
            }).find("keyValue"),
            std::string::npos);
  EXPECT_NE(error_for([](json::object& b) {
              b["keyMaterial"].as_object()["curve"] = "P-256";
            }).find("Curve25519"),
            std::string::npos);
  EXPECT_NE(error_for([](json::object& b) { b["consent"] = "c"; }).find("consent"),
            std::string::npos);
}

TEST(HealthInformation, PagesRoundTripAndAreBounded) {
  DataPage page{"0c5d6e16-51a7-4a34-8e6b-6a1b1f3e7a10", 2, 3, {}, sample_key()};
  page.entries.push_back({"Y2lwaGVy", "", "1B2M2Y8AsgTpgAmY7PhCfg==", "visit-1"});
  const auto parsed = parse_data_page(data_page_to_json(page));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->page_number, 2);
  EXPECT_EQ(parsed->page_count, 3);
  ASSERT_EQ(parsed->entries.size(), 1u);
  EXPECT_EQ(parsed->entries[0].content, "Y2lwaGVy");
  EXPECT_EQ(parsed->entries[0].care_context_reference, "visit-1");

  auto beyond = data_page_to_json(page);
  beyond["pageNumber"] = 4;
  EXPECT_FALSE(parse_data_page(beyond).has_value());
  auto no_entries = data_page_to_json(page);
  no_entries["entries"] = json::array();
  EXPECT_FALSE(parse_data_page(no_entries).has_value());
  auto bad_id = data_page_to_json(page);
  bad_id["transactionId"] = "not-a-uuid";
  EXPECT_FALSE(parse_data_page(bad_id).has_value());
  auto other_media = data_page_to_json(page);
  other_media["entries"].as_array()[0].as_object()["media"] = "text/plain";
  EXPECT_FALSE(parse_data_page(other_media).has_value());
}

TEST(HealthInformation, NotificationsRoundTrip) {
  const HiNotification notice{"c1",
                              "t1",
                              1'700'000'000'000,
                              "HIP",
                              "aiims",
                              SessionStatus::kFailed,
                              "aiims",
                              {{"visit-1", HiStatus::kErrored, "the consent was revoked"}}};
  const auto parsed = parse_notification(notification_to_json(notice));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->session_status, SessionStatus::kFailed);
  ASSERT_EQ(parsed->statuses.size(), 1u);
  EXPECT_EQ(parsed->statuses[0].status, HiStatus::kErrored);
  EXPECT_EQ(parsed->statuses[0].description, "the consent was revoked");
  auto wrong = notification_to_json(notice);
  wrong["notifier"].as_object()["type"] = "CM";
  EXPECT_FALSE(parse_notification(wrong).has_value());
}

TEST(HealthInformation, ChecksumIsBase64OfMd5) {
  // RFC 1321's test suite: MD5("") and MD5("abc").
  EXPECT_EQ(content_checksum(""), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(content_checksum("abc"), "kAFQmDzST7DWlj99KOF/cg==");
}

TEST(HealthInformation, Uuids) {
  EXPECT_TRUE(is_uuid("0c5d6e16-51a7-4a34-8e6b-6a1b1f3e7a10"));
  EXPECT_FALSE(is_uuid("0c5d6e1651a74a348e6b6a1b1f3e7a10"));
  EXPECT_FALSE(is_uuid("0c5d6e16-51a7-4a34-8e6b-6a1b1f3e7a1g"));
}

}  // namespace
}  // namespace kavach::exchange
