// The data flow in one process, shared by the exchange's tests (data_flow_test.cc,
// patient_locker_test.cc): a consent manager (relay), a HIP and an HIU on one throw-away store,
// their signed messages carried by the outbox to each other's handlers in memory, so each step can
// be driven and checked in turn. The HIP's records: Asha with one recent visit (a lab result,
// vitals and a prescription) and an old lab result outside the consents the tests grant.
#pragma once

#include <map>
#include <set>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_entry.h"
#include "common/time_format.h"
#include "consent/consent_outbox.h"
#include "consent/consent_record_gate.h"
#include "consent_fixture.h"
#include "exchange/health_information.h"
#include "exchange/health_information_relay.h"
#include "exchange/hip_data_flow.h"
#include "exchange/hip_links.h"
#include "exchange/hiu_data_flow.h"
#include "exchange/patient_links.h"
#include "exchange/patient_locker.h"
#include "fhir/resource_service.h"

namespace kavach::exchange {

namespace json = boost::json;
using consent::HiType;

// Where the HIP pushes pages for the CM's patient locker.
inline constexpr std::string_view kLockerPushUrl = "https://sbx.example/cm/v1/locker/transfer";

class DataFlowFixture : public consent::ConsentFixture {
 protected:
  void SetUp() override {
    ConsentFixture::SetUp();
    register_parties_and_asha();
    const auto verifier = consent::ArtefactVerifier::from_public_key(signer_->public_key());
    hip_ = std::make_unique<consent::HipConsents>(*documents_, verifier, "aiims-delhi");
    resources_ = std::make_unique<fhir::ResourceService>(*store_, *sealer_, clock_);
    gate_ = std::make_unique<consent::ConsentRecordGate>(*hip_, *store_, *sealer_, clock_);
    resources_->set_record_gate(gate_.get());
    hiu_consents_ = std::make_unique<consent::HiuConsents>(*documents_, verifier);
    relay_ = std::make_unique<HealthInformationRelay>(*documents_, *manager_, *registry_, clock_);
    HipDataFlowOptions hip_options;
    hip_options.cm_id = "sbx";
    hip_options.base_url = "https://aiims.example/abdm";  // as registered
    hip_options.link_threshold_bytes = link_threshold_;
    hip_options.hip_name = "AIIMS New Delhi";
    hip_options.attempts_max = 3;
    hip_flow_ = std::make_unique<HipDataFlow>(
        *documents_, *hip_, *gate_, *resources_,
        [this](const std::string& url, const std::string& body) -> Result<int> {
          pushed_urls_.push_back(url);
          if (url == kLockerPushUrl) {
            auto kept = locker_->receive_page(json::parse(body).as_object());
            if (kept) return 202;
            return kept.error().code == ErrorCode::kNotFound ? 404 : 400;
          }
          if (!hiu_up_) return make_error(ErrorCode::kUnavailable, "connection refused");
          if (tamper_) {
            auto page = json::parse(body).as_object();
            auto& content = page["entries"].as_array()[0].as_object()["content"].as_string();
            content[5] = content[5] == 'A' ? 'B' : 'A';
            auto received = hiu_flow_->receive_page(page);
            return received ? 202 : 400;
          }
          auto received = hiu_flow_->receive_page(json::parse(body).as_object());
          if (received) return 202;
          return received.error().code == ErrorCode::kNotFound ? 404 : 400;
        },
        clock_, hip_options);
    HiuDataFlowOptions hiu_options;
    hiu_options.hiu_id = "apollo-chennai";
    hiu_options.cm_id = "sbx";
    hiu_options.push_url = "https://apollo.example/abdm/v0.5/health-information/transfer";
    hiu_flow_ = std::make_unique<HiuDataFlow>(
        *documents_, *keys_, *hiu_consents_,
        [this](std::string_view path, json::object body) { return call_cm(path, std::move(body)); },
        [this](const std::string& url) -> Result<std::string> {
          fetched_links_.push_back(url);
          return hip_flow_->linked_content(url.substr(url.rfind('/') + 1));
        },
        clock_, hiu_options);
    patient_links_ = std::make_unique<PatientLinks>(*documents_, *accounts_, *registry_, clock_);
    PatientLockerOptions locker_options;
    locker_options.push_url = std::string(kLockerPushUrl);
    locker_options.request_bytes_max = locker_bytes_max_;
    locker_ = std::make_unique<PatientLocker>(
        *documents_, *manager_, *accounts_, *registry_, *patient_links_, *relay_,
        [this](const std::string& url) -> Result<std::string> {
          fetched_links_.push_back(url);
          return hip_flow_->linked_content(url.substr(url.rfind('/') + 1));
        },
        clock_, locker_options);
    hip_links_ = std::make_unique<HipLinks>(*hip_, *resources_, *documents_, *codes_, "sbx",
                                            "AIIMS New Delhi");
    dispatcher_ = std::make_unique<consent::OutboxDispatcher>(
        *documents_,
        [](std::string_view id) -> Result<consent::OutboxRoute> {
          return consent::OutboxRoute{std::string(id), {}};
        },
        *signer_,
        [this](const std::string& url, const std::string& body, const std::string& signature,
               const consent::OutboxHeaders&) {
          return deliver(url, json::parse(body).as_object(), signature);
        },
        clock_);

    // The HIP's records: Asha with one recent visit holding a lab result, vitals and a
    // prescription, and an old lab result outside every consent below.
    asha_id_ = create("Patient", R"({"resourceType":"Patient","identifier":[
        {"system":"https://healthid.ndhm.gov.in/abha-address","value":"asha.devi@sbx"}]})");
    visit_ = create("Encounter", fmt::format(R"({{"resourceType":"Encounter","status":"finished",
        "class":{{"code":"AMB"}},"subject":{{"reference":"Patient/{}"}},
        "period":{{"start":"{}"}}}})",
                                             asha_id_, days_ago(10)));
    lab_ = create("Observation", observation("laboratory", days_ago(10)));
    vitals_ = create("Observation", observation("vital-signs", days_ago(10)));
    old_lab_ = create("Observation", observation("laboratory", days_ago(500)));
    prescription_ =
        create("MedicationRequest",
               fmt::format(
                   R"({{"resourceType":"MedicationRequest","status":"active","intent":"order",
        "medicationCodeableConcept":{{"text":"Metformin"}},"subject":{{"reference":"Patient/{}"}},
        "encounter":{{"reference":"Encounter/{}"}},"authoredOn":"{}"}})",
                   asha_id_, visit_, days_ago(10)));
  }

  // Routes a signed message from the outbox to the in-memory receiver its path names.
  Status deliver(const std::string& url, const json::object& body, const std::string& signature) {
    const auto path = url.substr(url.find('/'));
    if (path == consent::kHipNotifyPath) return hip_->receive(body, signature).map([](auto) {});
    if (path == consent::kHiuNotifyPath || path == consent::kOnInitPath) {
      return hiu_consents_->receive(body, signature).map([](auto) {});
    }
    if (path == kHipRequestPath) {
      hip_request_ids_.emplace_back(body.at("requestId").as_string());
      return hip_flow_->receive(body, signature);
    }
    if (path == kHiuOnRequestPath || path == kHiuNotifyPath) {
      return hiu_flow_->receive_cm_message(body, signature);
    }
    if (path == kHipOnRequestPath) {
      acknowledged_ids_.emplace_back(body.at("resp").at("requestId").as_string());
      return relay_->hip_acknowledged("aiims-delhi", body);
    }
    if (path == kDiscoverPath) return hip_links_->discover(body, signature);
    if (path == kLinkInitPath) return hip_links_->link_init(body, signature);
    if (path == kLinkConfirmPath) return hip_links_->link_confirm(body, signature);
    if (path == kOnDiscoverPath) return patient_links_->on_discover("aiims-delhi", body);
    if (path == kOnLinkInitPath) return patient_links_->on_link_init("aiims-delhi", body);
    if (path == kOnLinkConfirmPath) return patient_links_->on_link_confirm("aiims-delhi", body);
    if (path == kContextNotifyPath) return patient_links_->context_notify("aiims-delhi", body);
    if (path == kAddContextsPath) return patient_links_->propose("aiims-delhi", body);
    if (path == kOnAddContextsPath) return hip_links_->proposal_answered(body, signature);
    if (path == kNotifyPath) {
      const auto& notifier = body.at("notification").at("notifier").as_object();
      notices_.push_back(json::serialize(body));
      return relay_->notified(notifier.at("id").as_string(), body);
    }
    return make_error(ErrorCode::kNotFound, "no receiver for " + path);
  }

  Result<json::object> call_cm(std::string_view path, json::object body) {
    body["requestId"] = consent::random_uuid();
    body["timestamp"] = format_instant_ms(now_ms());
    if (path == "/v0.5/consents/fetch") {
      ASSIGN_OR_RETURN(const auto record,
                       manager_->fetch("apollo-chennai", body.at("consentId").as_string()));
      return json::object{{"consent", consent::signed_artefact_to_json(record.artefact)}};
    }
    ASSIGN_OR_RETURN(const auto transaction, relay_->request("apollo-chennai", body));
    return json::object{{"hiRequest", {{"transactionId", transaction.id}}},
                        {"hip", {{"id", transaction.hip_id}, {"url", transaction.hip_url}}}};
  }

  void deliver_all() {
    for (int pass = 0; pass < 4; ++pass) ASSERT_TRUE(dispatcher_->deliver_due().has_value());
  }

  std::string days_ago(int days) const { return format_instant_ms(now_ms() - days * kDayMs); }

  std::string observation(const char* category, const std::string& date) const {
    return fmt::format(R"({{"resourceType":"Observation","status":"final",
        "category":[{{"coding":[{{"code":"{}"}}]}}],"code":{{"text":"x"}},
        "subject":{{"reference":"Patient/{}"}},"encounter":{{"reference":"Encounter/{}"}},
        "effectiveDateTime":"{}"}})",
                       category, asha_id_, visit_, date);
  }

  std::string create(const char* type, const std::string& body) {
    auto created = resources_->create(hospital_, type, body);
    EXPECT_TRUE(created.has_value()) << created.error().message;
    return created ? created->id : "";
  }

  // Asha grants Apollo's Dr. Manju `types` at AIIMS for the last 100 days; the artefact id.
  std::string grant(std::vector<HiType> types) {
    auto terms = terms_for(asha_);
    terms.hip_id = "aiims-delhi";
    terms.hi_types = types;
    terms.permission.date_range = {now_ms() - 100 * kDayMs, now_ms()};
    terms.permission.frequency = {consent::FrequencyUnit::kHour, 1, 1};
    auto request = manager_->request("apollo-chennai", "", terms);
    EXPECT_TRUE(request.has_value()) << request.error().message;
    auto granted = manager_->grant(session_, asha_.abha_number, request->id, {});
    EXPECT_TRUE(granted.has_value()) << granted.error().message;
    request_id_ = request->id;
    deliver_all();
    return granted->artefact_ids.front();
  }

  // Every resource (type/id) in the documents the HIU holds for Dr. Manju.
  std::multiset<std::string> received(const std::string& consent_id) {
    std::multiset<std::string> out;
    auto records = hiu_flow_->records("c-manju", "MH1001", consent_id);
    EXPECT_TRUE(records.has_value()) << records.error().message;
    if (!records) return out;
    for (const auto& document : records->documents) {
      EXPECT_EQ(document.bundle.at("type"), "document");
      for (const auto& entry : document.bundle.at("entry").as_array()) {
        const auto& resource = entry.at("resource").as_object();
        if (resource.at("resourceType") == "Composition") continue;
        out.insert(fmt::format("{}/{}", resource.at("resourceType").as_string(),
                               resource.at("id").as_string()));
      }
    }
    return out;
  }

  std::size_t audit_count(audit::Action action) {
    std::size_t count = 0;
    auto entries = store_->read_audit_entries(0, 100000);
    EXPECT_TRUE(entries.has_value());
    for (const auto& stored : *entries) {
      auto entry = audit::decode_entry(stored.entry);
      if (entry && entry->action == action) ++count;
    }
    return count;
  }

  auth::AccessToken hospital_{"c-hmis", *auth::ScopeSet::parse("system/*.cruds"), 0};
  std::unique_ptr<consent::HipConsents> hip_;
  std::unique_ptr<fhir::ResourceService> resources_;
  std::unique_ptr<consent::ConsentRecordGate> gate_;
  std::unique_ptr<consent::HiuConsents> hiu_consents_;
  std::unique_ptr<HealthInformationRelay> relay_;
  std::unique_ptr<HipDataFlow> hip_flow_;
  std::unique_ptr<HiuDataFlow> hiu_flow_;
  std::unique_ptr<PatientLinks> patient_links_;
  std::unique_ptr<PatientLocker> locker_;
  std::size_t locker_bytes_max_ = 64 * 1024 * 1024;
  std::unique_ptr<HipLinks> hip_links_;
  std::unique_ptr<consent::OutboxDispatcher> dispatcher_;
  std::size_t link_threshold_ = 4 * 1024 * 1024;
  std::vector<std::string> fetched_links_;
  bool hiu_up_ = true;
  bool tamper_ = false;
  std::vector<std::string> pushed_urls_;
  std::vector<std::string> notices_;
  std::vector<std::string> hip_request_ids_;   // requestIds of the CM's hip/request messages
  std::vector<std::string> acknowledged_ids_;  // resp.requestId of the HIP's on-request answers
  std::string asha_id_, visit_, lab_, vitals_, old_lab_, prescription_, request_id_;
};

}  // namespace kavach::exchange
