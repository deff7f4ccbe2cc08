// The patient's own records through the CM's locker (exchange/patient_locker.h), with the data
// flow of data_flow_fixture.h: the test plays the patient's browser, holding the Fidelius key the
// HIP encrypts for, and checks that the pages the CM keeps open with that key only.
#include <gtest/gtest.h>

#include "data_flow_fixture.h"

namespace kavach::exchange {
namespace {

// The patient's browser: a key pair of its own, and the pages it opened.
struct Browser {
  FideliusKeyPair key = *generate_key_pair();
  FideliusNonce nonce = generate_nonce();

  KeyMaterial key_material(std::int64_t expiry_ms) const {
    return KeyMaterial{key.public_key, nonce, expiry_ms};
  }
};

class PatientLockerTest : public DataFlowFixture {
 protected:
  LockerAsk ask_for(const Browser& browser, std::vector<std::string> hips = {"aiims-delhi"}) {
    LockerAsk ask;
    ask.hip_ids = std::move(hips);
    ask.key_material = browser.key_material(now_ms() + 3'600'000);
    return ask;
  }

  // Carries every message and pushes every page. The data request may overtake the consent's
  // notice to the HIP (both leave the outbox at once), which then asks for a retry: time moves
  // past the outbox's backoff.
  void run_transfers() {
    for (int pass = 0; pass < 3; ++pass) {
      deliver_all();
      clock_.advance(std::chrono::seconds(2));
    }
    for (int pass = 0; pass < 4; ++pass) ASSERT_TRUE(hip_flow_->push_due().has_value());
    deliver_all();
  }

  // Every resource (type/id) in the pages of `request`, opened as the browser does.
  std::multiset<std::string> opened(const Browser& browser, const LockerRequest& request) {
    std::multiset<std::string> out;
    for (const auto& transfer : request.transfers) {
      for (const auto number : transfer.pages) {
        auto page =
            locker_->page(session_, asha_.abha_number, request.id, transfer.transaction_id, number);
        EXPECT_TRUE(page.has_value());
        if (!page) continue;
        auto parsed = parse_data_page(*page);
        EXPECT_TRUE(parsed.has_value());
        if (!parsed) continue;
        for (const auto& entry : parsed->entries) {
          auto plain = decrypt(browser.key.private_key, parsed->key_material.public_key,
                               browser.nonce, parsed->key_material.nonce, entry.content);
          EXPECT_TRUE(plain.has_value()) << "every entry opens with the browser's key";
          if (!plain) continue;
          EXPECT_EQ(content_checksum(*plain), entry.checksum);
          const auto bundle = json::parse(*plain).as_object();
          for (const auto& item : bundle.at("entry").as_array()) {
            const auto& resource = item.at("resource").as_object();
            if (resource.at("resourceType") == "Composition") continue;
            out.insert(fmt::format("{}/{}", resource.at("resourceType").as_string(),
                                   resource.at("id").as_string()));
          }
        }
      }
    }
    return out;
  }

  Browser browser_;
};

TEST_F(PatientLockerTest, ThePatientReceivesAllHerRecordsEncryptedForHerBrowserOnly) {
  auto asked = locker_->request(session_, asha_.abha_number, ask_for(browser_));
  ASSERT_TRUE(asked.has_value()) << asked.error().message;
  ASSERT_EQ(asked->transfers.size(), 1u);
  EXPECT_EQ(asked->transfers[0].hip_id, "aiims-delhi");
  EXPECT_EQ(asked->transfers[0].hip_name, "AIIMS New Delhi");
  EXPECT_EQ(asked->transfers[0].status, "REQUESTED");
  run_transfers();

  auto status = locker_->status(session_, asha_.abha_number, asked->id);
  ASSERT_TRUE(status.has_value()) << status.error().message;
  const auto& transfer = status->transfers[0];
  EXPECT_EQ(transfer.status, "TRANSFERRED") << (notices_.empty() ? "" : notices_.back());
  EXPECT_GE(transfer.page_count, 3);
  EXPECT_EQ(static_cast<std::int64_t>(transfer.pages.size()), transfer.page_count);
  EXPECT_EQ(pushed_urls_.front(), kLockerPushUrl);
  // Every record of every type and date, the old lab result included: it is her own.
  const auto resources = opened(browser_, *status);
  for (const auto& id : {"Observation/" + lab_, "Observation/" + vitals_, "Observation/" + old_lab_,
                         "MedicationRequest/" + prescription_}) {
    EXPECT_EQ(resources.count(id), 1u) << id;
  }
  // The CM keeps ciphertext only: another key (the CM's, anyone's) opens nothing.
  Browser stranger;
  auto page = locker_->page(session_, asha_.abha_number, asked->id, transfer.transaction_id, 1);
  ASSERT_TRUE(page.has_value());
  const auto parsed = *parse_data_page(*page);
  EXPECT_FALSE(decrypt(stranger.key.private_key, parsed.key_material.public_key, stranger.nonce,
                       parsed.key_material.nonce, parsed.entries[0].content)
                   .has_value());
  // As this transfer's HIU, the CM records the delivery, as an HIU's notice would.
  auto transaction = relay_->transaction("sbx", transfer.transaction_id);
  ASSERT_TRUE(transaction.has_value());
  EXPECT_EQ(transaction->hiu_status, "TRANSFERRED");
  // Logged: the self-consent, the CM's data request by the patient, the HIP's reads and pages,
  // and each page's arrival at the locker.
  EXPECT_EQ(audit_count(audit::Action::kDataRequest), 2u);
  EXPECT_GE(audit_count(audit::Action::kDataTransfer),
            2u * static_cast<std::size_t>(transfer.page_count));
}

TEST_F(PatientLockerTest, ADataRequestThatOvertakesTheConsentNoticeIsRetriedNotRefused) {
  auto asked = locker_->request(session_, asha_.abha_number, ask_for(browser_));
  ASSERT_TRUE(asked.has_value());
  // The CM's hip/request reaches the HIP before the consent's notice does.
  auto pending = documents_->find_documents(consent::kOutboxType, {"state", "pending", true}, 10);
  ASSERT_TRUE(pending.has_value());
  std::size_t overtaking = 0;
  for (const auto& message : *pending) {
    if (message.body.at("path").as_string() != kHipRequestPath) continue;
    auto body = message.body.at("body").as_object();
    body["timestamp"] = format_instant_ms(now_ms());
    const auto signature = signer_->sign_object(body);
    ASSERT_TRUE(signature.has_value());
    EXPECT_EQ(hip_flow_->receive(body, *signature).error().code, ErrorCode::kUnavailable);
    ++overtaking;
  }
  ASSERT_EQ(overtaking, 1u);
  run_transfers();
  EXPECT_EQ(locker_->status(session_, asha_.abha_number, asked->id)->transfers[0].status,
            "TRANSFERRED");
}

TEST_F(PatientLockerTest, OnlyThePatientSeesHerRequestAndItsPages) {
  auto asked = locker_->request(session_, asha_.abha_number, ask_for(browser_));
  ASSERT_TRUE(asked.has_value());
  run_transfers();
  const auto ravi = enrol("Ravi Kumar", "9812345678", "ravi.kumar");
  const auto ravis = sign_in(ravi);
  EXPECT_EQ(locker_->status(ravis, ravi.abha_number, asked->id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(locker_->page(ravis, ravi.abha_number, asked->id, asked->transfers[0].transaction_id, 1)
                .error()
                .code,
            ErrorCode::kNotFound);
  // Acting for Asha needs to be her, her nominee or her guardian.
  EXPECT_FALSE(locker_->status(ravis, asha_.abha_number, asked->id).has_value());
}

TEST_F(PatientLockerTest, WithNoHospitalLinkedThereIsNothingToAsk) {
  auto asked = locker_->request(session_, asha_.abha_number, ask_for(browser_, {}));
  ASSERT_FALSE(asked.has_value());
  EXPECT_EQ(asked.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(PatientLockerTest, AnExpiredKeyIsRefusedBeforeAnyConsentIsMade) {
  auto ask = ask_for(browser_);
  ask.key_material.expiry_ms = now_ms();
  auto asked = locker_->request(session_, asha_.abha_number, ask);
  ASSERT_FALSE(asked.has_value());
  EXPECT_EQ(asked.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(manager_->artefacts(session_, asha_.abha_number)->empty());
}

TEST_F(PatientLockerTest, PagesOfUnknownTransactionsAndMalformedPagesAreRefused) {
  DataPage stray;
  stray.transaction_id = consent::random_uuid();
  stray.page_number = 1;
  stray.page_count = 1;
  stray.entries.push_back({"AAAA", "", "AAAA", "cc-1"});
  stray.key_material = browser_.key_material(now_ms() + 60'000);
  EXPECT_EQ(locker_->receive_page(data_page_to_json(stray)).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(locker_->receive_page(json::object{{"pageNumber", 1}}).error().code,
            ErrorCode::kInvalidArgument);
}

class SmallLockerTest : public PatientLockerTest {
 protected:
  void SetUp() override {
    locker_bytes_max_ = 512;  // less than one page
    PatientLockerTest::SetUp();
  }
};

TEST_F(SmallLockerTest, RecordsBeyondTheLockersBoundFailTheTransferVisibly) {
  auto asked = locker_->request(session_, asha_.abha_number, ask_for(browser_));
  ASSERT_TRUE(asked.has_value());
  for (int pass = 0; pass < 3; ++pass) {
    deliver_all();
    clock_.advance(std::chrono::seconds(2));
  }
  for (int attempt = 0; attempt < 4; ++attempt) {
    ASSERT_TRUE(hip_flow_->push_due().has_value());
    clock_.advance(std::chrono::minutes(1));
  }
  deliver_all();
  auto status = locker_->status(session_, asha_.abha_number, asked->id);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->transfers[0].status, "FAILED");
  EXPECT_TRUE(status->transfers[0].pages.empty());
}

TEST_F(PatientLockerTest, RequestsEndAtTheirEraseTimeAndOnlyTheLatestTwoAreKept) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto asked = locker_->request(session_, asha_.abha_number, ask_for(browser_));
    ASSERT_TRUE(asked.has_value()) << asked.error().message;
    ids.push_back(asked->id);
  }
  EXPECT_EQ(locker_->status(session_, asha_.abha_number, ids[0]).error().code,
            ErrorCode::kNotFound);
  EXPECT_TRUE(locker_->status(session_, asha_.abha_number, ids[2]).has_value());
  clock_.advance(std::chrono::minutes(61));
  EXPECT_EQ(locker_->status(session_, asha_.abha_number, ids[2]).error().code,
            ErrorCode::kNotFound);
}

TEST_F(PatientLockerTest, TheRelayTakesOnlyTheCmsOwnSelfRequestsForThePatientPath) {
  // An artefact granted to an HIU cannot be turned into a push to the locker.
  const auto consent_id = grant({HiType::kDiagnosticReport});
  HiRequest request{consent_id,
                    {now_ms() - 10 * kDayMs, now_ms()},
                    std::string(kLockerPushUrl),
                    browser_.key_material(now_ms() + 60'000)};
  EXPECT_EQ(relay_->request_for_patient(asha_.id, request).error().code, ErrorCode::kNotFound);
  // And an HIU cannot ask under the patient's own artefact.
  auto asked = locker_->request(session_, asha_.abha_number, ask_for(browser_));
  ASSERT_TRUE(asked.has_value());
  auto own = manager_->artefacts(session_, asha_.abha_number);
  ASSERT_TRUE(own.has_value());
  for (const auto& artefact : *own) {
    if (artefact.artefact.detail.purpose != consent::Purpose::kSelfRequested) continue;
    request.consent_id = artefact.artefact.detail.consent_id;
    request.data_push_url = "https://apollo.example/abdm/v0.5/health-information/transfer";
    EXPECT_EQ(
        relay_->request("apollo-chennai", json::object{{"hiRequest", hi_request_to_json(request)}})
            .error()
            .code,
        ErrorCode::kNotFound);
  }
}

}  // namespace
}  // namespace kavach::exchange
