#include "consent/consent_manager.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_entry.h"
#include "common/time_format.h"
#include "consent/consent_policy.h"
#include "consent/hiu_consents.h"
#include "consent_fixture.h"

namespace kavach::consent {
namespace {

namespace json = boost::json;

// Delivered messages, as a facility's callback would receive them.
struct Delivery {
  std::string url;
  json::object body;
  std::string signature;
};

class ConsentManagerTest : public ConsentFixture {
 protected:
  void SetUp() override {
    ConsentFixture::SetUp();
    register_parties_and_asha();
    dispatcher_ = std::make_unique<OutboxDispatcher>(
        *documents_, registry_destination(*registry_), *signer_,
        [this](const std::string& url, const std::string& body, const std::string& signature,
               const OutboxHeaders&) -> Status {
          if (!reachable_) return make_error(ErrorCode::kUnavailable, "connection refused");
          deliveries_.push_back({url, json::parse(body).as_object(), signature});
          return {};
        },
        clock_);
  }

  std::vector<Delivery> deliver() {
    deliveries_.clear();
    EXPECT_TRUE(dispatcher_->deliver_due().has_value());
    return deliveries_;
  }

  ConsentRequestRecord ask(const ConsentTerms& terms, const std::string& request_id = "") {
    auto created = manager_->request("apollo-chennai", request_id, terms);
    EXPECT_TRUE(created.has_value()) << created.error().message;
    return *created;
  }

  bool reachable_ = true;
  std::vector<Delivery> deliveries_;
  std::unique_ptr<OutboxDispatcher> dispatcher_;
};

TEST_F(ConsentManagerTest, AGrantSignsOneArtefactPerHipAndNotifiesEveryone) {
  const auto request = ask(terms_for(asha_), "req-1");
  EXPECT_EQ(request.status, ConsentStatus::kRequested);
  EXPECT_NE(notifier_.last_to(asha_.mobile).text.find("Apollo Chennai asks"), std::string::npos);
  // The HIU learns the request id (on-init) through its callback.
  auto first = deliver();
  ASSERT_EQ(first.size(), 1U);
  EXPECT_EQ(first[0].url, "https://apollo.example/abdm/v0.5/consent-requests/on-init");
  EXPECT_EQ(first[0].body.at("consentRequest").at("id").as_string(), request.id);

  auto pending = manager_->requests(session_, asha_.abha_number);
  ASSERT_EQ(pending->size(), 1U);
  const std::string summary = describe_request(pending->front(), "Apollo Chennai");
  EXPECT_NE(summary.find("Dr. Manju of Apollo Chennai asks to view your prescriptions and lab "
                         "and imaging reports"),
            std::string::npos)
      << summary;

  GrantChoice choice;
  choice.hi_types = {HiType::kDiagnosticReport};
  choice.hip_ids = {"aiims-delhi", "cmc-vellore"};
  auto granted = manager_->grant(session_, asha_.abha_number, request.id, choice);
  ASSERT_TRUE(granted.has_value()) << granted.error().message;
  EXPECT_EQ(granted->artefact_ids.size(), 2U);

  const auto verifier = *ArtefactVerifier::from_jwks(json::value(signer_->jwks()));
  auto deliveries = deliver();
  ASSERT_EQ(deliveries.size(), 3U);  // two HIPs and the HIU
  std::size_t hip_notices = 0;
  for (const auto& delivery : deliveries) {
    // Every body is signed by the CM, over what was sent.
    ASSERT_TRUE(verify_cm_message(verifier, delivery.body, delivery.signature, now_ms()));
    if (delivery.url.ends_with("/v0.5/consents/hip/notify")) {
      ++hip_notices;
      auto artefact = verifier.open(delivery.body.at("notification").as_object());
      ASSERT_TRUE(artefact.has_value()) << artefact.error().message;
      EXPECT_EQ(artefact->detail().hi_types, std::vector<HiType>{HiType::kDiagnosticReport});
      EXPECT_EQ(artefact->detail().patient_id, "asha.devi@sbx");
      EXPECT_EQ(artefact->detail().consent_manager_id, "sbx");
    } else {
      EXPECT_EQ(delivery.url, "https://apollo.example/abdm/v0.5/consents/hiu/notify");
      EXPECT_EQ(delivery.body.at("notification").at("status").as_string(), "GRANTED");
      EXPECT_EQ(delivery.body.at("notification").at("consentArtefacts").as_array().size(), 2U);
    }
  }
  EXPECT_EQ(hip_notices, 2U);
  EXPECT_TRUE(deliver().empty());  // each message goes once

  auto fetched = manager_->fetch("apollo-chennai", granted->artefact_ids[0]);
  ASSERT_TRUE(fetched.has_value());
  EXPECT_TRUE(verifier.verify(fetched->artefact).has_value());
  EXPECT_EQ(manager_->fetch("fortis-noida", granted->artefact_ids[0]).error().code,
            ErrorCode::kNotFound);
}

TEST_F(ConsentManagerTest, AGrantCannotWidenTheRequest) {
  auto terms = terms_for(asha_);
  terms.hip_id = "aiims-delhi";
  const auto request = ask(terms);
  GrantChoice wider;
  wider.hi_types = {HiType::kPrescription, HiType::kOpConsultation};
  auto refused = manager_->grant(session_, asha_.abha_number, request.id, wider);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnprocessable);
  EXPECT_NE(refused.error().message.find("cannot add HI types"), std::string::npos);
  GrantChoice longer;
  longer.data_erase_at_ms = terms.permission.data_erase_at_ms + 1;
  EXPECT_NE(manager_->grant(session_, asha_.abha_number, request.id, longer)
                .error()
                .message.find("cannot last longer"),
            std::string::npos);
  GrantChoice other_hip;
  other_hip.hip_ids = {"cmc-vellore"};
  EXPECT_EQ(manager_->grant(session_, asha_.abha_number, request.id, other_hip).error().code,
            ErrorCode::kUnprocessable);
  // Nothing was granted by the refusals.
  EXPECT_EQ(manager_->requests(session_, asha_.abha_number)->front().status,
            ConsentStatus::kRequested);
  EXPECT_TRUE(manager_->grant(session_, asha_.abha_number, request.id, {}).has_value());
}

TEST_F(ConsentManagerTest, RequestsFromUnknownPartiesOrToLockedIdsAreRefused) {
  auto terms = terms_for(asha_);
  EXPECT_NE(manager_->request("fortis-noida", "", terms).error().message.find("not registered"),
            std::string::npos);
  EXPECT_NE(
      manager_->request("aiims-delhi", "", terms).error().message.find("not registered as an HIU"),
      std::string::npos);
  auto impostor = terms;
  impostor.requester.identifier_value = "MH9999";
  EXPECT_EQ(manager_->request("apollo-chennai", "", impostor).error().code,
            ErrorCode::kPermissionDenied);
  auto for_other = terms;
  for_other.hiu_id = "cmc-vellore";
  EXPECT_EQ(manager_->request("apollo-chennai", "", for_other).error().code,
            ErrorCode::kPermissionDenied);
  auto break_glass = terms;
  break_glass.purpose = Purpose::kBreakTheGlass;
  EXPECT_EQ(manager_->request("apollo-chennai", "", break_glass).error().code,
            ErrorCode::kInvalidArgument);
  auto unknown_patient = terms;
  unknown_patient.patient_id = "nobody.here@sbx";
  EXPECT_EQ(manager_->request("apollo-chennai", "", unknown_patient).error().code,
            ErrorCode::kNotFound);

  ASSERT_TRUE(accounts_->set_locked(session_, true));
  auto locked = manager_->request("apollo-chennai", "", terms);
  ASSERT_FALSE(locked.has_value());
  EXPECT_NE(locked.error().message.find("locked"), std::string::npos);
  ASSERT_TRUE(accounts_->set_locked(session_, false));
  EXPECT_TRUE(manager_->request("apollo-chennai", "", terms).has_value());

  // Deactivating the HIU stops it at once.
  auto apollo = *registry_->facility("apollo-chennai");
  apollo.active = false;
  ASSERT_TRUE(registry_->update_facility(apollo, {audit::ActorKind::kOperator, "os:admin"}));
  EXPECT_NE(manager_->request("apollo-chennai", "", terms).error().message.find("not active"),
            std::string::npos);
}

TEST_F(ConsentManagerTest, PatientLookupsAreBoundedPerHiu) {
  const auto refused = [](const Result<FoundPatient>& found) {
    return !found && found.error().code == ErrorCode::kResourceExhausted;
  };
  ASSERT_TRUE(registry_->add_facility(
      {"fortis-noida", "Fortis Noida", false, true, "https://fortis.example/abdm", "", true},
      {audit::ActorKind::kOperator, "os:admin"}));
  const std::size_t burst = ConsentLimits{}.finds_per_hiu.burst;
  // Guesses that match nobody spend the budget as well as lookups that find someone.
  for (std::size_t i = 0; i < burst; ++i) {
    const auto found = manager_->find_patient(
        "apollo-chennai", i % 2 == 0 ? asha_.address : fmt::format("guess{}@sbx", i));
    ASSERT_FALSE(refused(found)) << "lookup " << i;
  }
  EXPECT_TRUE(refused(manager_->find_patient("apollo-chennai", asha_.address)));
  EXPECT_TRUE(refused(manager_->find_patient("apollo-chennai", "another.guess@sbx")));
  // Another HIU has its own budget, and the first one's refills with time.
  EXPECT_TRUE(manager_->find_patient("fortis-noida", asha_.address).has_value());
  clock_.advance(std::chrono::seconds(1));
  EXPECT_TRUE(manager_->find_patient("apollo-chennai", asha_.address).has_value());
}

TEST_F(ConsentManagerTest, ARepeatedRequestIdReturnsTheFirstRequest) {
  const auto first = ask(terms_for(asha_), "same-id");
  const auto again = ask(terms_for(asha_), "same-id");
  EXPECT_EQ(first.id, again.id);
  EXPECT_EQ(manager_->requests(session_, asha_.abha_number)->size(), 1U);
}

TEST_F(ConsentManagerTest, RevocationReachesHipsAndStopsTheConsent) {
  HipConsents aiims(*documents_, ArtefactVerifier::from_public_key(signer_->public_key()),
                    "aiims-delhi");
  auto terms = terms_for(asha_);
  terms.hip_id = "aiims-delhi";
  const auto request = ask(terms);
  const auto granted = manager_->grant(session_, asha_.abha_number, request.id, {});
  ASSERT_TRUE(granted.has_value());
  const auto apply = [&] {
    for (const auto& delivery : deliver()) {
      if (delivery.url.ends_with("/hip/notify")) {
        ASSERT_TRUE(aiims.receive(delivery.body, delivery.signature).has_value());
      }
    }
  };
  const std::string consent_id = granted->artefact_ids.front();
  apply();
  EXPECT_EQ(aiims.consent(consent_id)->status, ConsentStatus::kGranted);
  // A replay of the GRANTED notice, kept by someone, for later.
  json::object replay;
  std::string replay_signature;
  {
    auto held = aiims.consent(consent_id);
    replay = {{"requestId", "r-replay"},
              {"timestamp", format_instant_ms(now_ms())},
              {"notification", signed_artefact_to_json(held->artefact.artefact())}};
    replay_signature = *signer_->sign_object(replay);
  }

  auto revoked = manager_->revoke(session_, asha_.abha_number, request.id);
  ASSERT_TRUE(revoked.has_value()) << revoked.error().message;
  EXPECT_EQ(revoked->status, ConsentStatus::kRevoked);
  apply();
  const auto held = aiims.consent(consent_id);
  EXPECT_EQ(held->status, ConsentStatus::kRevoked);
  const DataRequest data{"apollo-chennai", "aiims-delhi", now_ms(), 0};
  EXPECT_EQ(check_data_request(held->artefact, held->status, data), Denial::kNotGranted);
  // The replayed GRANTED notice does not bring it back.
  EXPECT_EQ(*aiims.receive(replay, replay_signature), ConsentStatus::kRevoked);
  EXPECT_EQ(aiims.consent(consent_id)->status, ConsentStatus::kRevoked);
  // Revoking twice is refused with a reason.
  EXPECT_EQ(manager_->revoke(session_, asha_.abha_number, request.id).error().code,
            ErrorCode::kFailedPrecondition);
}

TEST_F(ConsentManagerTest, TheHiuFollowsItsRequestsOneWayAndIgnoresRepeats) {
  HiuConsents apollo(*documents_, ArtefactVerifier::from_public_key(signer_->public_key()));
  const auto apply_all = [&] {
    std::vector<Delivery> hiu_deliveries;
    for (const auto& delivery : deliver()) {
      if (delivery.url.starts_with("https://apollo.example")) {
        EXPECT_TRUE(apollo.receive(delivery.body, delivery.signature).has_value());
        hiu_deliveries.push_back(delivery);
      }
    }
    return hiu_deliveries;
  };
  auto terms = terms_for(asha_);
  terms.hip_id = "aiims-delhi";
  const auto request = ask(terms);
  apply_all();
  EXPECT_EQ(apollo.request(request.id)->status, ConsentStatus::kRequested);
  ASSERT_TRUE(manager_->grant(session_, asha_.abha_number, request.id, {}).has_value());
  const auto granted_notices = apply_all();
  ASSERT_EQ(granted_notices.size(), 1U);
  EXPECT_EQ(apollo.request(request.id)->status, ConsentStatus::kGranted);
  EXPECT_EQ(apollo.request(request.id)->artefact_ids.size(), 1U);
  // The same notice twice changes nothing.
  EXPECT_EQ(*apollo.receive(granted_notices[0].body, granted_notices[0].signature),
            ConsentStatus::kGranted);
  ASSERT_TRUE(manager_->revoke(session_, asha_.abha_number, request.id).has_value());
  apply_all();
  EXPECT_EQ(apollo.request(request.id)->status, ConsentStatus::kRevoked);
  // A late GRANTED notice (re-signed, inside the window) cannot undo the revocation.
  auto late = granted_notices[0].body;
  late["timestamp"] = format_instant_ms(now_ms());
  EXPECT_EQ(*apollo.receive(late, *signer_->sign_object(late)), ConsentStatus::kRevoked);
  EXPECT_EQ(apollo.receive(late, "").error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(apollo.request("unknown").error().code, ErrorCode::kNotFound);
}

TEST_F(ConsentManagerTest, AHipCountsDataRequestsAgainstTheFrequencyLimit) {
  HipConsents aiims(*documents_, ArtefactVerifier::from_public_key(signer_->public_key()),
                    "aiims-delhi");
  auto terms = terms_for(asha_);
  terms.hip_id = "aiims-delhi";
  terms.permission.frequency = {FrequencyUnit::kDay, 1, 1};  // two data requests a day
  const auto request = ask(terms);
  const auto granted = manager_->grant(session_, asha_.abha_number, request.id, {});
  ASSERT_TRUE(granted.has_value());
  for (const auto& delivery : deliver()) {
    if (delivery.url.ends_with("/hip/notify")) {
      ASSERT_TRUE(aiims.receive(delivery.body, delivery.signature));
    }
  }
  const std::string consent_id = granted->artefact_ids.front();
  EXPECT_TRUE(aiims.begin_data_request(consent_id, "apollo-chennai").has_value());
  EXPECT_EQ(aiims.begin_data_request(consent_id, "fortis-noida").error().code,
            ErrorCode::kPermissionDenied);  // another HIU takes nothing
  EXPECT_TRUE(aiims.begin_data_request(consent_id, "apollo-chennai").has_value());
  auto third = aiims.begin_data_request(consent_id, "apollo-chennai");
  ASSERT_FALSE(third.has_value());
  EXPECT_NE(third.error().message.find("frequency"), std::string::npos);
  clock_.advance(std::chrono::hours(24));  // a new period
  EXPECT_TRUE(aiims.begin_data_request(consent_id, "apollo-chennai").has_value());
  EXPECT_EQ(aiims.begin_data_request("unknown", "apollo-chennai").error().code,
            ErrorCode::kNotFound);
}

TEST_F(ConsentManagerTest, HipsRefuseNoticesNotSignedByTheirCm) {
  HipConsents aiims(*documents_, ArtefactVerifier::from_public_key(signer_->public_key()),
                    "aiims-delhi");
  HipConsents cmc(*documents_, ArtefactVerifier::from_public_key(signer_->public_key()),
                  "cmc-vellore");
  auto terms = terms_for(asha_);
  terms.hip_id = "aiims-delhi";
  const auto request = ask(terms);
  ASSERT_TRUE(manager_->grant(session_, asha_.abha_number, request.id, {}).has_value());
  for (const auto& delivery : deliver()) {
    if (!delivery.url.ends_with("/hip/notify")) continue;
    EXPECT_EQ(aiims.receive(delivery.body, "").error().code, ErrorCode::kUnauthenticated);
    auto rogue = *ArtefactSigner::from_seed(crypto::SecretBytes(std::vector<std::uint8_t>(32, 9)));
    EXPECT_EQ(aiims.receive(delivery.body, *rogue.sign_object(delivery.body)).error().code,
              ErrorCode::kUnauthenticated);
    auto stale = delivery.body;
    stale["timestamp"] = format_instant_ms(now_ms() - 120'000);
    EXPECT_EQ(aiims.receive(stale, *signer_->sign_object(stale)).error().code,
              ErrorCode::kUnauthenticated);
    EXPECT_EQ(cmc.receive(delivery.body, delivery.signature).error().code,
              ErrorCode::kPermissionDenied);
    EXPECT_EQ(*aiims.receive(delivery.body, delivery.signature), ConsentStatus::kGranted);
    EXPECT_EQ(*aiims.receive(delivery.body, delivery.signature), ConsentStatus::kGranted);
  }
}

TEST_F(ConsentManagerTest, AHipConfirmsHeldConsentsWithTheCmAfterARestart) {
  auto terms = terms_for(asha_);
  terms.hip_id = "aiims-delhi";
  const auto request = ask(terms);
  const auto granted = manager_->grant(session_, asha_.abha_number, request.id, {});
  ASSERT_TRUE(granted.has_value());
  const std::string consent_id = granted->artefact_ids.front();
  const auto verifier = ArtefactVerifier::from_public_key(signer_->public_key());
  {
    HipConsents before_restart(*documents_, verifier, "aiims-delhi");
    for (const auto& delivery : deliver()) {
      if (delivery.url.ends_with("/hip/notify")) {
        ASSERT_TRUE(before_restart.receive(delivery.body, delivery.signature).has_value());
      }
    }
  }
  // The HIP is down; the patient revokes; the notice waits in the outbox.
  reachable_ = false;
  ASSERT_TRUE(manager_->revoke(session_, asha_.abha_number, request.id).has_value());
  EXPECT_TRUE(deliver().empty());
  // Back up, the HIP asks the CM (a signed statement over the wire) before serving.
  int asked = 0;
  bool cm_reachable = false;
  HipConsents after_restart(*documents_, verifier, "aiims-delhi", [&](std::string_view id) {
    ++asked;
    if (!cm_reachable) return Result<ConsentStatus>(make_error(ErrorCode::kUnavailable, "down"));
    const auto statement = status_statement(id, *manager_->current_status(id), now_ms());
    const json::object reply{{"statement", statement},
                             {"signature", *signer_->sign_object(statement)}};
    return verify_status_statement(verifier, reply, id, now_ms());
  });
  EXPECT_EQ(after_restart.consent(consent_id).error().code, ErrorCode::kUnavailable);
  cm_reachable = true;
  EXPECT_EQ(after_restart.consent(consent_id)->status, ConsentStatus::kRevoked);
  EXPECT_EQ(after_restart.consent(consent_id)->status, ConsentStatus::kRevoked);
  EXPECT_EQ(asked, 2);  // a final status needs no further confirmation
  // A statement signed by another key, or about another consent, is refused.
  const auto forged_statement = status_statement(consent_id, ConsentStatus::kGranted, now_ms());
  auto rogue = *ArtefactSigner::from_seed(crypto::SecretBytes(std::vector<std::uint8_t>(32, 9)));
  EXPECT_FALSE(verify_status_statement(verifier,
                                       {{"statement", forged_statement},
                                        {"signature", *rogue.sign_object(forged_statement)}},
                                       consent_id, now_ms())
                   .has_value());
  EXPECT_FALSE(verify_status_statement(verifier,
                                       {{"statement", forged_statement},
                                        {"signature", *signer_->sign_object(forged_statement)}},
                                       "another-consent", now_ms())
                   .has_value());
}

TEST_F(ConsentManagerTest, ANodeThatWasDownReceivesItsNoticesWhenItReturns) {
  auto terms = terms_for(asha_);
  terms.hip_id = "aiims-delhi";
  const auto request = ask(terms);
  ASSERT_TRUE(manager_->grant(session_, asha_.abha_number, request.id, {}).has_value());
  reachable_ = false;
  EXPECT_TRUE(deliver().empty());
  auto counts = dispatcher_->deliver_due();
  EXPECT_EQ(counts->retried, 0U);  // backing off: nothing is due yet
  reachable_ = true;
  clock_.advance(std::chrono::seconds(2));
  const auto deliveries = deliver();
  EXPECT_EQ(deliveries.size(), 3U);  // on-init, the HIP notice and the HIU notice
}

TEST_F(ConsentManagerTest, DenialAndExpiryEndRequests) {
  const auto denied = ask(terms_for(asha_));
  auto result = manager_->deny(session_, asha_.abha_number, denied.id);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, ConsentStatus::kDenied);
  EXPECT_EQ(manager_->grant(session_, asha_.abha_number, denied.id, {}).error().code,
            ErrorCode::kFailedPrecondition);

  const auto unanswered = ask(terms_for(asha_));
  auto terms = terms_for(asha_);
  terms.hip_id = "aiims-delhi";
  terms.permission.data_erase_at_ms = now_ms() + 10 * kDayMs;
  const auto granted_request = ask(terms);
  auto granted = manager_->grant(session_, asha_.abha_number, granted_request.id, {});
  ASSERT_TRUE(granted.has_value());
  clock_.advance(std::chrono::hours(24 * 8));
  EXPECT_EQ(manager_->grant(session_, asha_.abha_number, unanswered.id, {}).error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(*manager_->sweep(), 1U);  // the unanswered request
  clock_.advance(std::chrono::hours(24 * 3));
  EXPECT_EQ(*manager_->sweep(), 1U);  // the artefact past dataEraseAt
  const auto artefacts = manager_->artefacts(session_, asha_.abha_number);
  ASSERT_EQ(artefacts->size(), 1U);
  EXPECT_EQ(artefacts->front().artefact.status, ConsentStatus::kExpired);
  bool hip_told = false;
  for (const auto& delivery : deliver()) {
    if (delivery.url.ends_with("/hip/notify") &&
        delivery.body.at("notification").at("status").as_string() == "EXPIRED") {
      hip_told = true;
    }
  }
  EXPECT_TRUE(hip_told);
  EXPECT_EQ(*manager_->sweep(), 0U);
}

TEST_F(ConsentManagerTest, PatientsMakeSelfRequestsAndNomineesActForThem) {
  SelfRequest self{
      {HiType::kPrescription}, {now_ms() - kDayMs, now_ms()}, now_ms() + kDayMs, {"aiims-delhi"}};
  auto own = manager_->self_request(session_, asha_.abha_number, self);
  ASSERT_TRUE(own.has_value()) << own.error().message;
  EXPECT_EQ(own->status, ConsentStatus::kGranted);
  EXPECT_EQ(own->terms.purpose, Purpose::kSelfRequested);

  const Account ravi = enrol("Ravi Kumar", "9123456780", "ravi.k");
  const PatientSession ravi_session = sign_in(ravi);
  const auto request = ask(terms_for(asha_));
  EXPECT_EQ(manager_->requests(ravi_session, asha_.abha_number).error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(manager_->deny(ravi_session, asha_.abha_number, request.id).error().code,
            ErrorCode::kPermissionDenied);
  ASSERT_TRUE(accounts_->set_nominee(session_, ravi.address));
  GrantChoice choice;
  choice.hip_ids = {"cmc-vellore"};
  auto by_nominee = manager_->grant(ravi_session, asha_.abha_number, request.id, choice);
  ASSERT_TRUE(by_nominee.has_value()) << by_nominee.error().message;
  // The audit entry names the nominee as the actor and Asha as the subject.
  auto entries = store_->audit_entries_about(asha_.id, -1, 100);
  ASSERT_TRUE(entries.has_value());
  const auto last = audit::decode_entry(entries->back().entry);
  EXPECT_EQ(last->action, audit::Action::kConsentGrant);
  EXPECT_EQ(last->actor_id, ravi.id);
  EXPECT_EQ(last->purpose, "CAREMGT");
}

TEST_F(ConsentManagerTest, NoHealthIdMobileOrNameIsStoredInPlaintext) {
  const auto request = ask(terms_for(asha_));
  GrantChoice choice;
  choice.hip_ids = {"aiims-delhi"};
  ASSERT_TRUE(manager_->grant(session_, asha_.abha_number, request.id, choice).has_value());
  ASSERT_TRUE(dispatcher_->deliver_due().has_value());
  const std::vector<std::string> secrets = {asha_.abha_number, asha_.mobile, "Asha", "asha.devi"};
  const auto holds_secret = [&](std::string_view text) {
    return std::any_of(secrets.begin(), secrets.end(), [&](const auto& secret) {
      return text.find(secret) != std::string_view::npos;
    });
  };
  auto records = store_->changes_since(0, 10'000);
  ASSERT_TRUE(records.has_value());
  for (const auto& record : *records) {
    const std::string payload(record.payload.begin(), record.payload.end());
    EXPECT_FALSE(holds_secret(record.id) || holds_secret(record.partition) || holds_secret(payload))
        << record.type << "/" << record.id;
  }
  auto entries = store_->read_audit_entries(0, 10'000);
  ASSERT_TRUE(entries.has_value());
  for (const auto& stored : *entries) {
    const std::string bytes(stored.entry.begin(), stored.entry.end());
    EXPECT_FALSE(holds_secret(bytes) || holds_secret(stored.subject))
        << "audit entry " << stored.index;
  }
  auto keys = store_->list_keys("", 10'000);
  ASSERT_TRUE(keys.has_value());
  for (const auto& key : *keys) EXPECT_FALSE(holds_secret(key.name)) << key.name;
}

TEST_F(ConsentManagerTest, EveryDecisionIsInTheAuditLog) {
  const auto request = ask(terms_for(asha_));
  GrantChoice choice;
  choice.hip_ids = {"aiims-delhi"};
  ASSERT_TRUE(manager_->grant(session_, asha_.abha_number, request.id, choice).has_value());
  ASSERT_TRUE(manager_->revoke(session_, asha_.abha_number, request.id).has_value());
  auto entries = store_->audit_entries_about(asha_.id, -1, 100);
  std::vector<audit::Action> actions;
  for (const auto& stored : *entries) actions.push_back(audit::decode_entry(stored.entry)->action);
  for (const auto expected :
       {audit::Action::kAccountEnrol, audit::Action::kAccountSignIn, audit::Action::kConsentRequest,
        audit::Action::kConsentGrant, audit::Action::kConsentRevoke}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), expected), actions.end())
        << audit::action_name(expected);
  }
}

TEST_F(ConsentManagerTest, BreakingTheGlassIsShortRateLimitedAndToldToThePatient) {
  const Account ravi = enrol("Ravi Kumar", "9123456780", "ravi.k");
  ASSERT_TRUE(accounts_->set_nominee(session_, ravi.address));
  BreakGlassRequest emergency{"asha.devi@sbx", "aiims-delhi", "MH1001",
                              "Unconscious on arrival in the emergency ward",
                              std::chrono::hours(6)};
  auto opened = manager_->break_glass("apollo-chennai", emergency);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_EQ(opened->status, ConsentStatus::kGranted);
  ASSERT_EQ(opened->artefact_ids.size(), 1U);
  const auto artefacts = manager_->artefacts(session_, asha_.abha_number);
  const auto& detail = artefacts->front().artefact.detail;
  EXPECT_EQ(detail.purpose, Purpose::kBreakTheGlass);
  EXPECT_EQ(detail.permission.data_erase_at_ms - detail.created_at_ms, 6 * 3'600'000);
  EXPECT_EQ(detail.hip_id, "aiims-delhi");
  // The patient and the nominee hear of it at once.
  EXPECT_NE(notifier_.last_to(asha_.mobile).text.find("EMERGENCY ACCESS"), std::string::npos);
  EXPECT_NE(notifier_.last_to(ravi.mobile).text.find("Dr. Manju of Apollo Chennai"),
            std::string::npos);
  // Logged with the break-glass basis; the reason stays with the sealed request, not the log.
  auto entries = store_->audit_entries_about(asha_.id, -1, 100);
  bool flagged = false;
  for (const auto& stored : *entries) {
    const auto entry = *audit::decode_entry(stored.entry);
    if (entry.action == audit::Action::kBreakGlass) {
      flagged = entry.basis == audit::Basis::kBreakGlass && entry.actor_id == "dr-manju";
    }
    EXPECT_EQ(entry.reason.find("Unconscious"), std::string::npos);
  }
  EXPECT_TRUE(flagged);
  EXPECT_EQ(manager_->requests(session_, asha_.abha_number)->front().break_glass_reason,
            emergency.reason);
  // The patient can end it like any consent.
  EXPECT_TRUE(manager_->revoke(session_, asha_.abha_number, opened->id).has_value());

  // Limits: a reason, at most 24 hours, three a day per professional, registered people only.
  auto no_reason = emergency;
  no_reason.reason = "urgent";
  EXPECT_EQ(manager_->break_glass("apollo-chennai", no_reason).error().code,
            ErrorCode::kInvalidArgument);
  auto too_long = emergency;
  too_long.duration = std::chrono::hours(25);
  EXPECT_EQ(manager_->break_glass("apollo-chennai", too_long).error().code,
            ErrorCode::kInvalidArgument);
  auto stranger = emergency;
  stranger.registration_value = "MH9999";
  EXPECT_EQ(manager_->break_glass("apollo-chennai", stranger).error().code,
            ErrorCode::kPermissionDenied);
  ASSERT_TRUE(manager_->break_glass("apollo-chennai", emergency).has_value());
  ASSERT_TRUE(manager_->break_glass("apollo-chennai", emergency).has_value());
  auto fourth = manager_->break_glass("apollo-chennai", emergency);
  ASSERT_FALSE(fourth.has_value());
  EXPECT_EQ(fourth.error().code, ErrorCode::kResourceExhausted);
  clock_.advance(std::chrono::hours(25));
  EXPECT_TRUE(manager_->break_glass("apollo-chennai", emergency).has_value());
}

}  // namespace
}  // namespace kavach::consent
