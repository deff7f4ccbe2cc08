// A consent manager on a throw-away SQLite store with a hand-moved clock and a notifier that
// keeps every SMS in memory, so tests read one-time codes the way a patient reads their phone.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "consent/consent_manager.h"
#include "consent/facility_registry.h"
#include "consent/hip_consents.h"
#include "consent/notifier.h"
#include "consent/one_time_codes.h"
#include "consent/patient_accounts.h"
#include "crypto/key_ring.h"
#include "store/store_factory.h"
#include "support/temp_dir.h"
#include "vault/key_vault.h"
#include "vault/record_sealer.h"
#include "vault/sealed_documents.h"

namespace kavach::consent {

inline std::string code_in(const Notice& notice) {
  const auto at = notice.text.find_first_of("0123456789");
  return at == std::string::npos ? "" : notice.text.substr(at, kOneTimeCodeDigits);
}

class ConsentFixture : public ::testing::Test {
 protected:
  static constexpr std::int64_t kDayMs = 86'400'000;

  void SetUp() override {
    ring_ = std::make_unique<crypto::KeyRing>(*crypto::KeyRing::create(dir_.path() / "k"));
    store_ = *store::open_store("sqlite:" + (dir_.path() / "db").string());
    keys_ = std::make_unique<vault::KeyVault>(*store_, *ring_, clock_);
    sealer_ = std::make_unique<vault::RecordSealer>(*keys_);
    documents_ = std::make_unique<vault::SealedDocuments>(*store_, *sealer_, clock_);
    codes_ = std::make_unique<OneTimeCodes>(*documents_, *keys_, notifier_, clock_);
    accounts_ = std::make_unique<PatientAccounts>(*documents_, *keys_, *codes_, "sbx", clock_);
    registry_ = std::make_unique<FacilityRegistry>(*documents_);
    signer_ = std::make_unique<ArtefactSigner>(*consent_signer(*keys_));
    manager_ = std::make_unique<ConsentManager>(*documents_, *accounts_, *registry_, *signer_,
                                                notifier_, "sbx", clock_);
  }

  std::int64_t now_ms() const { return unix_ms(clock_.now()); }

  // Enrols a person and returns their account.
  Account enrol(const std::string& name, const std::string& mobile, const std::string& address = "",
                int year_of_birth = 1985) {
    EnrolmentForm form{name, year_of_birth, "", "F", mobile, address};
    auto ticket = accounts_->start_enrolment(form, "10.0.0.1");
    EXPECT_TRUE(ticket.has_value()) << ticket.error().message;
    auto outcome = accounts_->confirm_enrolment(
        ticket->id, code_in(notifier_.last_to(*parse_mobile(mobile))), "10.0.0.1");
    EXPECT_TRUE(outcome.has_value()) << outcome.error().message;
    return outcome->account;
  }

  PatientSession sign_in(const Account& account) {
    auto ticket = accounts_->start_sign_in(account.abha_number, "10.0.0.1");
    EXPECT_TRUE(ticket.has_value()) << ticket.error().message;
    auto session = accounts_->confirm_sign_in(
        ticket->id, code_in(notifier_.last_to(account.mobile)), "10.0.0.1");
    EXPECT_TRUE(session.has_value()) << session.error().message;
    return session->session;
  }

  void register_parties() {
    const RegistryActor admin{audit::ActorKind::kOperator, "os:admin"};
    ASSERT_TRUE(registry_->add_facility(
        {"aiims-delhi", "AIIMS New Delhi", true, false, "https://aiims.example/abdm", "", true},
        admin));
    ASSERT_TRUE(registry_->add_facility(
        {"cmc-vellore", "CMC Vellore", true, false, "https://cmc.example/abdm", "", true}, admin));
    ASSERT_TRUE(registry_->add_facility(
        {"apollo-chennai", "Apollo Chennai", false, true, "https://apollo.example/abdm", "", true},
        admin));
    ASSERT_TRUE(registry_->add_professional(
        {"dr-manju", "Dr. Manju", "apollo-chennai", "REGNO", "MH1001", "", "", true}, admin));
  }

  // The registry's parties, and Asha Devi enrolled and signed in: where most tests start.
  void register_parties_and_asha() {
    register_parties();
    asha_ = enrol("Asha Devi", "9876543210", "asha.devi");
    session_ = sign_in(asha_);
  }

  ConsentTerms terms_for(const Account& patient) const {
    ConsentTerms terms;
    terms.purpose = Purpose::kCareManagement;
    terms.patient_id = patient.address;
    terms.hiu_id = "apollo-chennai";
    terms.requester = Requester{"Dr. Manju", "REGNO", "MH1001", ""};
    terms.hi_types = {HiType::kPrescription, HiType::kDiagnosticReport};
    terms.permission.access_mode = AccessMode::kView;
    terms.permission.date_range = {now_ms() - 365 * kDayMs, now_ms()};
    terms.permission.data_erase_at_ms = now_ms() + 30 * kDayMs;
    terms.permission.frequency = {FrequencyUnit::kHour, 1, 0};
    return terms;
  }

  kavach::testing::TempDir dir_;
  ManualClock clock_{TimePoint{std::chrono::milliseconds{1'800'000'000'000}}};
  RecordingNotifier notifier_;
  std::unique_ptr<crypto::KeyRing> ring_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<vault::KeyVault> keys_;
  std::unique_ptr<vault::RecordSealer> sealer_;
  std::unique_ptr<vault::SealedDocuments> documents_;
  std::unique_ptr<OneTimeCodes> codes_;
  std::unique_ptr<PatientAccounts> accounts_;
  std::unique_ptr<FacilityRegistry> registry_;
  std::unique_ptr<ArtefactSigner> signer_;
  std::unique_ptr<ConsentManager> manager_;
  Account asha_;
  PatientSession session_;
};

}  // namespace kavach::consent
