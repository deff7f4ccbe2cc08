// A professional's desk at an HIU node, against an in-process consent manager standing behind
// the node's signed call: looking a patient up, asking for consent, watching the request through
// the CM's notices, and breaking the glass. Each is logged at the HIU as well as at the CM.
#include "exchange/hiu_consent_desk.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "audit/audit_entry.h"
#include "common/time_format.h"
#include "consent/consent_outbox.h"
#include "consent/hiu_consents.h"
#include "consent_fixture.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;
using consent::ConsentFixture;

class HiuConsentDeskTest : public ConsentFixture {
 protected:
  void SetUp() override {
    ConsentFixture::SetUp();
    register_parties_and_asha();
    consents_ = std::make_unique<consent::HiuConsents>(
        *documents_, consent::ArtefactVerifier::from_public_key(signer_->public_key()));
    // The CM as the HIU's signed call reaches it (facility apollo-chennai).
    PeerCall cm = [this](std::string_view path, json::object body) -> Result<json::object> {
      calls_.push_back({std::string(path), body});
      if (path == "/v0.5/patients/find") {
        const auto id = body.at("query").at("patient").at("id").as_string();
        ASSIGN_OR_RETURN(const auto found, manager_->find_patient("apollo-chennai", id));
        return json::object{{"patient", {{"id", found.address}, {"name", found.name}}}};
      }
      if (path == "/v0.5/consent-requests/init") {
        ASSIGN_OR_RETURN(const auto terms,
                         consent::parse_consent_terms(body.at("consent").as_object(), now_ms()));
        ASSIGN_OR_RETURN(const auto created, manager_->request("apollo-chennai", "", terms));
        return json::object{{"consentRequest", {{"id", created.id}}}};
      }
      if (path == "/v0.5/break-glass") {
        consent::BreakGlassRequest emergency;
        emergency.patient_id = std::string(body.at("patient").at("id").as_string());
        emergency.hip_id = std::string(body.at("hip").at("id").as_string());
        emergency.reason = std::string(body.at("reason").as_string());
        emergency.registration_value =
            std::string(body.at("requester").at("identifier").at("value").as_string());
        emergency.duration = std::chrono::minutes(body.at("durationMinutes").as_int64());
        ASSIGN_OR_RETURN(const auto granted, manager_->break_glass("apollo-chennai", emergency));
        json::array artefacts;
        for (const auto& id : granted.artefact_ids) artefacts.push_back(json::object{{"id", id}});
        return json::object{
            {"consentRequest", {{"id", granted.id}}},
            {"consentArtefacts", std::move(artefacts)},
            {"expiresAt", format_instant_ms(granted.terms.permission.data_erase_at_ms)}};
      }
      return make_error(ErrorCode::kNotFound, "no such path");
    };
    desk_ = std::make_unique<HiuConsentDesk>(*documents_, *consents_, cm, "apollo-chennai",
                                             "https://apollo.example/abdm");
  }

  // The CM's notices to the HIU, applied as its notice endpoint would.
  void deliver_notices() {
    consent::OutboxDispatcher dispatcher(
        *documents_, consent::registry_destination(*registry_), *signer_,
        [this](const std::string& url, const std::string& body, const std::string& signature,
               const consent::OutboxHeaders&) -> Status {
          if (url.starts_with("https://apollo.example")) {
            EXPECT_TRUE(consents_->receive(json::parse(body).as_object(), signature));
          }
          return {};
        },
        clock_);
    ASSERT_TRUE(dispatcher.deliver_due());
  }

  std::vector<audit::Action> hiu_actions() {
    std::vector<audit::Action> actions;
    const auto entries = store_->read_audit_entries(0, 1000);
    for (const auto& stored : *entries) {
      const auto entry = *audit::decode_entry(stored.entry);
      if (entry.actor_id == manju_.client_id) actions.push_back(entry.action);
    }
    return actions;
  }

  consent::ConsentTerms asked_terms() const {
    auto terms = terms_for(asha_);
    terms.hiu_id.clear();
    terms.requester = {};
    return terms;
  }

  const Professional manju_{"c-0123456789abcdef01234567", "MH1001", "Dr. Manju"};
  std::unique_ptr<consent::HiuConsents> consents_;
  std::unique_ptr<HiuConsentDesk> desk_;
  std::vector<std::pair<std::string, json::object>> calls_;
};

TEST_F(HiuConsentDeskTest, FindsAPatientByHealthIdAndLogsTheLookup) {
  const auto found = desk_->find_patient(manju_, "asha.devi@sbx");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->address, "asha.devi@sbx");
  EXPECT_EQ(found->name, "Asha Devi");
  EXPECT_EQ(calls_.back().second.at("query").at("requester").at("id"), "apollo-chennai");
  EXPECT_EQ(desk_->find_patient(manju_, "nobody@sbx").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(hiu_actions(), std::vector<audit::Action>{audit::Action::kPatientFind});
}

TEST_F(HiuConsentDeskTest, AsksInTheProfessionalsNameAndFollowsTheCmsNotices) {
  const auto asked = desk_->ask(manju_, asked_terms());
  ASSERT_TRUE(asked) << asked.error().message;
  const auto& sent = calls_.back().second.at("consent");
  EXPECT_EQ(sent.at("hiu").at("id"), "apollo-chennai");
  EXPECT_EQ(sent.at("requester").at("identifier").at("value"), "MH1001");
  EXPECT_EQ(sent.at("requester").at("name"), "Dr. Manju");
  EXPECT_EQ(sent.at("consentNotificationUrl"), "https://apollo.example/abdm");
  EXPECT_EQ(asked->status, "REQUESTED");
  EXPECT_EQ(asked->hi_types, (std::vector<std::string>{"Prescription", "DiagnosticReport"}));

  auto mine = desk_->asked_by(manju_);
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ(mine->front().id, asked->id);
  const Professional other{"c-ffffffffffffffffffffffff", "KA2002", "Dr. Rao"};
  EXPECT_TRUE(desk_->asked_by(other)->empty()) << "each professional sees their own requests";

  deliver_notices();
  consent::GrantChoice narrowed;
  narrowed.hi_types = {consent::HiType::kDiagnosticReport};
  narrowed.hip_ids = {"aiims-delhi"};
  ASSERT_TRUE(manager_->grant(session_, asha_.abha_number, asked->id, narrowed));
  deliver_notices();
  mine = desk_->asked_by(manju_);
  EXPECT_EQ(mine->front().status, "GRANTED");
  EXPECT_EQ(mine->front().artefact_ids.size(), 1u);
  ASSERT_TRUE(manager_->revoke(session_, asha_.abha_number, asked->id));
  deliver_notices();
  EXPECT_EQ(desk_->asked_by(manju_)->front().status, "REVOKED");
  EXPECT_EQ(hiu_actions(), std::vector<audit::Action>{audit::Action::kConsentRequest});
}

TEST_F(HiuConsentDeskTest, TheCmsRefusalComesBackAndNothingIsKept) {
  auto terms = asked_terms();
  terms.patient_id = "nobody@sbx";
  EXPECT_EQ(desk_->ask(manju_, terms).error().code, ErrorCode::kNotFound);
  const Professional stranger{"c-ffffffffffffffffffffffff", "XX9999", "Dr. Nobody"};
  EXPECT_FALSE(desk_->ask(stranger, asked_terms()));
  EXPECT_TRUE(desk_->asked_by(manju_)->empty());
  EXPECT_TRUE(desk_->asked_by(stranger)->empty());
}

TEST_F(HiuConsentDeskTest, BreakingTheGlassGrantsAtOnceForTheTimeAsked) {
  const auto opened = desk_->break_glass(
      manju_, {"asha.devi@sbx", "aiims-delhi", "Unconscious in casualty, no family present",
               std::chrono::minutes(30)});
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_TRUE(opened->break_glass);
  EXPECT_EQ(opened->status, "GRANTED");
  EXPECT_EQ(opened->artefact_ids.size(), 1u);
  EXPECT_EQ(opened->erase_at_ms, now_ms() + 30 * 60 * 1000);
  EXPECT_EQ(calls_.back().second.at("requester").at("identifier").at("value"), "MH1001");
  EXPECT_EQ(desk_->asked_by(manju_)->front().reason, "Unconscious in casualty, no family present");
  EXPECT_EQ(hiu_actions(), std::vector<audit::Action>{audit::Action::kBreakGlass});
  // Too short a reason is the CM's to refuse.
  EXPECT_FALSE(desk_->break_glass(
      manju_, {"asha.devi@sbx", "aiims-delhi", "urgent", std::chrono::minutes(30)}));
}

}  // namespace
}  // namespace kavach::exchange
