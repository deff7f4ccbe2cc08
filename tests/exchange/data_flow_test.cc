// The data flow in one process (data_flow_fixture.h): the HIU asks, the CM checks and forwards,
// the HIP reads through the consent gate, packs, encrypts and pushes, the HIU decrypts, checks and
// keeps, and everything ends with a revocation or dataEraseAt.
#include "data_flow_fixture.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;
using consent::HiType;

class DataFlowTest : public DataFlowFixture {};

TEST_F(DataFlowTest, TheHiuReceivesExactlyTheGrantedRecordsOncePerDocument) {
  const auto consent_id = grant({HiType::kDiagnosticReport, HiType::kWellnessRecord});
  auto started = hiu_flow_->request("c-manju", "MH1001", consent_id);
  ASSERT_TRUE(started.has_value()) << started.error().message;
  deliver_all();  // the CM's request reaches the HIP, which plans the pages
  auto pushed = hip_flow_->push_due();
  ASSERT_TRUE(pushed.has_value()) << pushed.error().message;
  ASSERT_TRUE(hip_flow_->push_due().has_value());
  deliver_all();  // both sides' notices
  // One document per HI type of the visit: lab results, then vitals; never the prescription
  // (not granted) or the old lab result (outside the dates).
  EXPECT_EQ(received(consent_id),
            (std::multiset<std::string>{"Patient/" + asha_id_, "Observation/" + lab_,
                                        "Patient/" + asha_id_, "Observation/" + vitals_}));
  EXPECT_EQ(pushed_urls_.size(), 2u);
  EXPECT_EQ(pushed_urls_.front(), "https://apollo.example/abdm/v0.5/health-information/transfer");
  auto transfer = relay_->transaction("apollo-chennai", started->transaction_id);
  ASSERT_TRUE(transfer.has_value());
  EXPECT_EQ(transfer->status, "TRANSFERRED");
  // The HIP's acknowledgement answers the CM's request by its requestId, as ABDM's resp says.
  EXPECT_EQ(acknowledged_ids_, hip_request_ids_);
  EXPECT_EQ(transfer->hiu_status, "TRANSFERRED");
  // CM and HIP each log the request; the HIP each page; the HIU each page and each view.
  EXPECT_EQ(audit_count(audit::Action::kDataRequest), 3u);
  EXPECT_GE(audit_count(audit::Action::kDataTransfer), 4u);
  // Another professional of the same HIU sees nothing.
  EXPECT_EQ(hiu_flow_->records("c-rao", "KA2002", consent_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(hiu_flow_->request("c-rao", "KA2002", consent_id).error().code,
            ErrorCode::kPermissionDenied);
}

TEST_F(DataFlowTest, ARevocationDuringTheTransferStopsItAndTheHiuErasesWhatCame) {
  const auto consent_id = grant({HiType::kDiagnosticReport, HiType::kWellnessRecord});
  ASSERT_TRUE(hiu_flow_->request("c-manju", "MH1001", consent_id).has_value());
  deliver_all();
  ASSERT_TRUE(hip_flow_->push_due().has_value());  // page 1 of 2
  EXPECT_EQ(received(consent_id).size(), 2u);
  ASSERT_TRUE(manager_->revoke(session_, asha_.abha_number, request_id_).has_value());
  deliver_all();  // the HIP and HIU hear of it
  ASSERT_TRUE(hip_flow_->push_due().has_value());
  EXPECT_EQ(pushed_urls_.size(), 1u) << "no page may leave after the revocation";
  deliver_all();
  ASSERT_FALSE(notices_.empty());
  EXPECT_NE(notices_.front().find("\"FAILED\""), std::string::npos) << notices_.front();
  EXPECT_NE(notices_.front().find("revoked"), std::string::npos) << notices_.front();
  auto swept = hiu_flow_->sweep();
  ASSERT_TRUE(swept.has_value());
  EXPECT_EQ(*swept, 1u);
  EXPECT_EQ(hiu_flow_->records("c-manju", "MH1001", consent_id).error().code, ErrorCode::kGone);
  EXPECT_EQ(audit_count(audit::Action::kDataErase), 1u);
  // The data key is gone: what was stored can never be opened again.
  auto key =
      keys_->existing_key(vault::key_name_for_partition(received_data_partition(consent_id)));
  EXPECT_EQ(key.error().code, ErrorCode::kGone);
}

TEST_F(DataFlowTest, APushThatFailsIsRetriedAndArrivesOnce) {
  const auto consent_id = grant({HiType::kDiagnosticReport});
  auto started = hiu_flow_->request("c-manju", "MH1001", consent_id);
  ASSERT_TRUE(started.has_value());
  deliver_all();
  hiu_up_ = false;
  auto first = hip_flow_->push_due();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->retried, 1u);
  ASSERT_EQ(hip_flow_->push_due()->pushed, 0u) << "not before the backoff";
  hiu_up_ = true;
  clock_.advance(std::chrono::seconds(1));
  ASSERT_EQ(hip_flow_->push_due()->pushed, 1u);
  EXPECT_EQ(received(consent_id).size(), 2u);
  // A page pushed again (the HIP did not hear the answer) is acknowledged and dropped.
  auto page = documents_->read(kHipTransferPageType, started->transaction_id + "-p1");
  ASSERT_TRUE(page.has_value() && page->has_value());
  EXPECT_TRUE(hiu_flow_->receive_page((*page)->body.at("page").as_object()).has_value());
  EXPECT_EQ(received(consent_id).size(), 2u);
}

TEST_F(DataFlowTest, ATamperedPageIsRefusedAndTheTransferFails) {
  const auto consent_id = grant({HiType::kDiagnosticReport});
  ASSERT_TRUE(hiu_flow_->request("c-manju", "MH1001", consent_id).has_value());
  deliver_all();
  tamper_ = true;
  ASSERT_TRUE(hip_flow_->push_due().has_value());
  deliver_all();
  auto records = hiu_flow_->records("c-manju", "MH1001", consent_id);
  ASSERT_TRUE(records.has_value());
  EXPECT_TRUE(records->documents.empty());
  ASSERT_EQ(records->transfers.size(), 1u);
  EXPECT_EQ(records->transfers.front().status, "FAILED");
}

TEST_F(DataFlowTest, TheCmRefusesRequestsOutsideTheArtefact) {
  const auto consent_id = grant({HiType::kDiagnosticReport});
  auto key = generate_key_pair();
  ASSERT_TRUE(key.has_value());
  HiRequest request{consent_id,
                    {now_ms() - 10 * kDayMs, now_ms()},
                    "https://apollo.example/abdm/v0.5/health-information/transfer",
                    {key->public_key, generate_nonce(), now_ms() + 3'600'000}};
  const auto ask = [&](const HiRequest& r, const char* hiu = "apollo-chennai") {
    return relay_->request(hiu, json::object{{"hiRequest", hi_request_to_json(r)}});
  };
  EXPECT_TRUE(ask(request).has_value());
  auto elsewhere = request;
  elsewhere.data_push_url = "https://apollo.example.evil/abdm";
  EXPECT_EQ(ask(elsewhere).error().code, ErrorCode::kInvalidArgument);
  auto earlier = request;
  earlier.date_range.from_ms = now_ms() - 200 * kDayMs;
  EXPECT_EQ(ask(earlier).error().code, ErrorCode::kPermissionDenied);
  // Another HIU cannot use Apollo's artefact; a HIP cannot ask at all.
  ASSERT_TRUE(registry_->add_facility(
      {"max-delhi", "Max Delhi", false, true, "https://max.example/abdm", "", true},
      {audit::ActorKind::kOperator, "os:admin"}));
  EXPECT_EQ(ask(request, "max-delhi").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ask(request, "cmc-vellore").error().code, ErrorCode::kPermissionDenied);
  ASSERT_TRUE(manager_->revoke(session_, asha_.abha_number, request_id_).has_value());
  EXPECT_EQ(ask(request).error().code, ErrorCode::kPermissionDenied);
}

TEST_F(DataFlowTest, TheHipRefusesRequestsPastTheFrequencyLimit) {
  const auto consent_id = grant({HiType::kDiagnosticReport});  // two requests an hour
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(hiu_flow_->request("c-manju", "MH1001", consent_id).has_value());
  }
  deliver_all();
  auto transfers = documents_->find_documents(kHipTransferType, {"state", "pushing", true}, 10);
  ASSERT_TRUE(transfers.has_value());
  EXPECT_EQ(transfers->size(), 2u);
  ASSERT_FALSE(notices_.empty());
  EXPECT_NE(notices_.front().find("\"FAILED\""), std::string::npos);
}

TEST_F(DataFlowTest, TheHiuErasesItsCopyAtDataEraseAt) {
  const auto consent_id = grant({HiType::kDiagnosticReport});
  ASSERT_TRUE(hiu_flow_->request("c-manju", "MH1001", consent_id).has_value());
  deliver_all();
  ASSERT_TRUE(hip_flow_->push_due().has_value());
  EXPECT_EQ(received(consent_id).size(), 2u);
  ASSERT_EQ(*hiu_flow_->sweep(), 0u);
  clock_.advance(std::chrono::hours(24 * 31));
  ASSERT_EQ(*hiu_flow_->sweep(), 1u);
  EXPECT_EQ(hiu_flow_->records("c-manju", "MH1001", consent_id).error().code, ErrorCode::kGone);
}

class LinkEntryTest : public DataFlowTest {
 protected:
  void SetUp() override {
    link_threshold_ = 0;  // every document goes as a link entry
    DataFlowTest::SetUp();
  }
};

TEST_F(LinkEntryTest, LargeDocumentsAreFetchedOnceByTheirLink) {
  const auto consent_id = grant({HiType::kDiagnosticReport});
  auto started = hiu_flow_->request("c-manju", "MH1001", consent_id);
  ASSERT_TRUE(started.has_value());
  deliver_all();
  hiu_up_ = false;  // the first push fails: the link is armed again for the retry
  ASSERT_EQ(hip_flow_->push_due()->retried, 1u);
  hiu_up_ = true;
  clock_.advance(std::chrono::seconds(1));
  ASSERT_EQ(hip_flow_->push_due()->pushed, 1u);
  EXPECT_EQ(received(consent_id).size(), 2u);
  ASSERT_EQ(fetched_links_.size(), 1u);
  EXPECT_TRUE(
      fetched_links_[0].starts_with("https://aiims.example/abdm/v0.5/health-information/links/"));
  // The token worked once.
  const auto token = fetched_links_[0].substr(fetched_links_[0].rfind('/') + 1);
  EXPECT_EQ(hip_flow_->linked_content(token).error().code, ErrorCode::kNotFound);
  // A page whose link points anywhere but the HIP is refused, not fetched.
  auto page = documents_->read(kHipTransferPageType, started->transaction_id + "-p1");
  ASSERT_TRUE(page.has_value() && page->has_value());
  auto forged = (*page)->body.at("page").as_object();
  forged["pageNumber"] = 1;
  forged["pageCount"] = 2;
  forged["entries"].as_array()[0].as_object()["link"] = "http://169.254.169.254/latest/meta-data";
  EXPECT_EQ(hiu_flow_->receive_page(forged).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(fetched_links_.size(), 1u);
}

TEST(DemographicsMatch, FollowsAbdmsRules) {
  const auto patient = json::parse(R"({"resourceType":"Patient",
      "name":[{"given":["Meera"],"family":"Nair"}],"gender":"female","birthDate":"1990-06-01"})")
                           .as_object();
  const auto matches = [&](const char* name, const char* gender, int year) {
    return demographics_match({"", "", "", name, gender, year}, patient);
  };
  EXPECT_TRUE(matches("Meera Nair", "F", 1990));
  EXPECT_TRUE(matches("meera nair", "F", 1992));    // case, and a year within 2
  EXPECT_TRUE(matches("Mira Nair", "F", 1989));     // a transliteration
  EXPECT_TRUE(matches("Meera", "U", 1990));         // part of the name; gender not given
  EXPECT_FALSE(matches("Meera Nair", "M", 1990));   // another gender
  EXPECT_FALSE(matches("Meera Nair", "F", 1993));   // three years apart
  EXPECT_FALSE(matches("Leela Menon", "F", 1990));  // another person
  auto undated = patient;
  undated.erase("birthDate");
  EXPECT_FALSE(demographics_match({"", "", "", "Meera Nair", "F", 1990}, undated));
}

class LinkingTest : public DataFlowTest {
 protected:
  // A patient the HIP knows only by name, sex, birth date and mobile.
  std::string hospital_patient(const char* given, const char* family, const char* mobile) {
    return create("Patient", fmt::format(R"({{"resourceType":"Patient",
        "name":[{{"given":["{}"],"family":"{}"}}],"gender":"female","birthDate":"1990-06-01",
        "telecom":[{{"system":"phone","value":"{}"}}]}})",
                                         given, family, mobile));
  }
  std::string visit_of(const std::string& patient) {
    return create("Encounter", fmt::format(R"({{"resourceType":"Encounter","status":"finished",
        "class":{{"code":"AMB"}},"subject":{{"reference":"Patient/{}"}},
        "period":{{"start":"{}"}}}})",
                                           patient, days_ago(3)));
  }
};

TEST_F(LinkingTest, APatientDiscoversAndLinksHerVisitWithTheHospitalsCode) {
  const auto meera = enrol("Meera Nair", "9000000001", "meera", 1990);
  const auto session = sign_in(meera);
  const auto patient = hospital_patient("Meera", "Nair", "+91 90000 00001");
  const auto visit = visit_of(patient);
  auto started = patient_links_->discover(session, meera.abha_number, "aiims-delhi");
  ASSERT_TRUE(started.has_value()) << started.error().message;
  deliver_all();
  auto found = patient_links_->discovery(session, meera.abha_number, started->id);
  ASSERT_TRUE(found.has_value());
  ASSERT_EQ(found->status, "FOUND") << found->error;
  EXPECT_EQ(found->patient_reference, patient);
  EXPECT_EQ(found->matched_by, std::vector<std::string>{"MOBILE"});
  ASSERT_EQ(found->care_contexts.size(), 1u);
  EXPECT_EQ(found->care_contexts[0].reference, visit);

  EXPECT_EQ(
      patient_links_->link(session, meera.abha_number, started->id, {"not-offered"}).error().code,
      ErrorCode::kInvalidArgument);
  ASSERT_TRUE(patient_links_->link(session, meera.abha_number, started->id, {visit}).has_value());
  deliver_all();
  found = patient_links_->discovery(session, meera.abha_number, started->id);
  ASSERT_EQ(found->status, "AWAITING_CODE") << found->error;
  EXPECT_EQ(found->code_hint, "XXXXXX0001");
  const auto code = consent::code_in(notifier_.last_to("9000000001"));

  // A wrong code is refused by the HIP, and the patient may try again.
  ASSERT_TRUE(
      patient_links_->confirm(session, meera.abha_number, started->id, "000000").has_value());
  deliver_all();
  found = patient_links_->discovery(session, meera.abha_number, started->id);
  EXPECT_EQ(found->status, "AWAITING_CODE");
  EXPECT_FALSE(found->error.empty());
  ASSERT_TRUE(patient_links_->confirm(session, meera.abha_number, started->id, code).has_value());
  deliver_all();
  found = patient_links_->discovery(session, meera.abha_number, started->id);
  EXPECT_EQ(found->status, "LINKED") << found->error;

  auto links = patient_links_->links(session, meera.abha_number);
  ASSERT_TRUE(links.has_value());
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ(links->front().hip_name, "AIIMS New Delhi");
  EXPECT_EQ(links->front().patient_reference, patient);
  ASSERT_EQ(links->front().care_contexts.size(), 1u);
  // The HIP now knows her ABHA address: consents for her reach this record.
  const auto record = resources_->read(hospital_, "Patient", patient);
  ASSERT_TRUE(record.has_value());
  EXPECT_NE(record->json.find("meera@sbx"), std::string::npos) << record->json;
  auto matched = gate_->patients_with("meera@sbx");
  ASSERT_TRUE(matched.has_value());
  EXPECT_EQ(*matched, std::set<std::string>{patient});
}

TEST_F(LinkingTest, ANewVisitOfALinkedPatientReachesTheCmOnce) {
  const auto meera = enrol("Meera Nair", "9000000001", "meera", 1990);
  const auto session = sign_in(meera);
  const auto patient = hospital_patient("Meera", "Nair", "9000000001");
  const auto first_visit = visit_of(patient);
  auto started = patient_links_->discover(session, meera.abha_number, "aiims-delhi");
  ASSERT_TRUE(started.has_value());
  deliver_all();
  ASSERT_TRUE(patient_links_->link(session, meera.abha_number, started->id, {first_visit}));
  deliver_all();
  const auto code = consent::code_in(notifier_.last_to("9000000001"));
  ASSERT_TRUE(patient_links_->confirm(session, meera.abha_number, started->id, code));
  deliver_all();
  // Visits of patients never linked are not announced.
  visit_of(hospital_patient("Leela", "Menon", "9000000002"));

  const auto second_visit = visit_of(patient);
  auto told = hip_links_->notify_new_contexts();
  ASSERT_TRUE(told.has_value()) << told.error().message;
  // Meera's two visits, and the fixture's visit of Asha, whose record carries her ABHA address
  // (the CM ignores that one: she never linked through it).
  EXPECT_EQ(*told, 3u);
  deliver_all();
  EXPECT_EQ(*hip_links_->notify_new_contexts(), 0u) << "a pass resumes where the last stopped";
  auto links = patient_links_->links(session, meera.abha_number);
  ASSERT_TRUE(links.has_value());
  ASSERT_EQ(links->size(), 1u);
  std::set<std::string> visits;
  for (const auto& context : links->front().care_contexts) visits.insert(context.reference);
  EXPECT_EQ(visits, (std::set<std::string>{first_visit, second_visit}));
}

TEST_F(LinkingTest, AHospitalProposesLinksThatThePatientAccepts) {
  const auto meera = enrol("Meera Nair", "9000000001", "meera", 1990);
  const auto session = sign_in(meera);
  // Hospital software recorded her ABHA address at the desk; IT proposes to link her visits.
  const auto patient = create("Patient", R"({"resourceType":"Patient",
      "name":[{"text":"Meera Nair"}],"identifier":[
      {"system":"https://healthid.ndhm.gov.in/abha-address","value":"meera@sbx"}]})");
  const auto visit = visit_of(patient);
  const auto unknown = create("Patient", R"({"resourceType":"Patient","name":[{"text":"X"}]})");
  EXPECT_EQ(hip_links_->propose_links(unknown).error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(hip_links_->propose_links(patient).has_value());
  deliver_all();
  // Nothing is linked until she accepts.
  EXPECT_TRUE(patient_links_->links(session, meera.abha_number)->empty());
  auto proposals = patient_links_->proposals(session, meera.abha_number);
  ASSERT_TRUE(proposals.has_value());
  ASSERT_EQ(proposals->size(), 1u);
  EXPECT_EQ(proposals->front().status, "PROPOSED");
  EXPECT_EQ(proposals->front().care_contexts.at(0).reference, visit);
  ASSERT_TRUE(patient_links_->accept(session, meera.abha_number, proposals->front().id));
  EXPECT_TRUE(patient_links_->proposals(session, meera.abha_number)->empty());
  EXPECT_EQ(patient_links_->accept(session, meera.abha_number, proposals->front().id).error().code,
            ErrorCode::kFailedPrecondition);
  auto links = patient_links_->links(session, meera.abha_number);
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ(links->front().patient_reference, patient);
}

TEST_F(LinkingTest, TwoPatientsWhoBothMatchAreNeverGuessedBetween) {
  const auto meera = enrol("Meera Nair", "9000000001", "meera", 1990);
  const auto session = sign_in(meera);
  hospital_patient("Meera", "Nair", "9000000001");
  hospital_patient("Mira", "Nair", "9000000001");    // a sister sharing the phone
  hospital_patient("Leela", "Menon", "9000000001");  // shares it too, but another name
  auto started = patient_links_->discover(session, meera.abha_number, "aiims-delhi");
  ASSERT_TRUE(started.has_value());
  deliver_all();
  const auto found = patient_links_->discovery(session, meera.abha_number, started->id);
  EXPECT_EQ(found->status, "NOT_FOUND");
  EXPECT_NE(found->error.find("more than one"), std::string::npos) << found->error;
  EXPECT_EQ(patient_links_->link(session, meera.abha_number, started->id, {"x"}).error().code,
            ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kavach::exchange
