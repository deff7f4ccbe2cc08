// Consent enforced where the data is read: a doctor of another facility reads a HIP's FHIR records
// under an artefact, and sees exactly the records it covers, through every read interaction.
#include "consent/consent_record_gate.h"

#include <random>
#include <set>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_entry.h"
#include "common/time_format.h"
#include "consent/consent_outbox.h"
#include "consent/consent_policy.h"
#include "consent/record_classification.h"
#include "consent_fixture.h"
#include "fhir/resource_service.h"

namespace kavach::consent {
namespace {

namespace json = boost::json;

class ConsentRecordGateTest : public ConsentFixture {
 protected:
  void SetUp() override {
    ConsentFixture::SetUp();
    register_parties_and_asha();
    hip_ = std::make_unique<HipConsents>(
        *documents_, ArtefactVerifier::from_public_key(signer_->public_key()), "aiims-delhi");
    resources_ = std::make_unique<fhir::ResourceService>(*store_, *sealer_, clock_);
    gate_ = std::make_unique<ConsentRecordGate>(*hip_, *store_, *sealer_, clock_);
    resources_->set_record_gate(gate_.get());
    dispatcher_ = std::make_unique<OutboxDispatcher>(
        *documents_, registry_destination(*registry_), *signer_,
        [this](const std::string& url, const std::string& body, const std::string& signature,
               const OutboxHeaders&) {
          if (!url.ends_with("/hip/notify")) return Status{};
          auto received = hip_->receive(json::parse(body).as_object(), signature);
          if (!received) return Status(tl::unexpected(received.error()));
          return Status{};
        },
        clock_);
    // The HIP's records: Asha (by her ABHA address) and Ravi, with visits a year apart.
    asha_id_ = create("Patient", R"({"resourceType":"Patient","identifier":[
        {"system":"https://healthid.ndhm.gov.in/abha-address","value":"asha.devi@sbx"}],
        "name":[{"family":"Devi"}]})");
    ravi_id_ = create("Patient", R"({"resourceType":"Patient","name":[{"family":"Kumar"}]})");
    recent_visit_ = create("Encounter", encounter(asha_id_, days_ago(10)));
    old_visit_ = create("Encounter", encounter(asha_id_, days_ago(400)));
    recent_lab_ =
        create("Observation", observation(asha_id_, "laboratory", days_ago(10), recent_visit_));
    old_lab_ =
        create("Observation", observation(asha_id_, "laboratory", days_ago(400), old_visit_));
    recent_vitals_ =
        create("Observation", observation(asha_id_, "vital-signs", days_ago(10), recent_visit_));
    undated_lab_ =
        create("Observation", observation(asha_id_, "laboratory", "2025", recent_visit_));
    ravi_lab_ = create("Observation", observation(ravi_id_, "laboratory", days_ago(10), ""));
  }

  std::string days_ago(int days) const { return format_instant_ms(now_ms() - days * kDayMs); }

  static std::string encounter(const std::string& patient, const std::string& start) {
    return fmt::format(R"({{"resourceType":"Encounter","status":"finished",
        "class":{{"code":"AMB"}},"subject":{{"reference":"Patient/{}"}},"period":{{"start":"{}"}}}})",
                       patient, start);
  }
  static std::string observation(const std::string& patient, const std::string& category,
                                 const std::string& date, const std::string& visit) {
    return fmt::format(
        R"({{"resourceType":"Observation","status":"final",
        "category":[{{"coding":[{{"code":"{}"}}]}}],"code":{{"text":"x"}},
        "subject":{{"reference":"Patient/{}"}},{}"effectiveDateTime":"{}"}})",
        category, patient,
        visit.empty() ? "" : fmt::format(R"("encounter":{{"reference":"Encounter/{}"}},)", visit),
        date);
  }

  std::string create(const char* type, const std::string& body) {
    auto created = resources_->create(hospital_, type, body);
    EXPECT_TRUE(created.has_value()) << created.error().message;
    return created->id;
  }

  // Asha grants Apollo a consent on AIIMS's records; returns the artefact id the HIP now holds.
  std::string grant(std::vector<HiType> types, int range_days = 100,
                    std::optional<std::vector<CareContext>> contexts = std::nullopt) {
    auto terms = terms_for(asha_);
    terms.hip_id = "aiims-delhi";
    terms.hi_types = types;
    terms.care_contexts = {{asha_id_, recent_visit_}, {asha_id_, old_visit_}};
    terms.permission.date_range = {now_ms() - range_days * kDayMs, now_ms()};
    auto request = manager_->request("apollo-chennai", "", terms);
    EXPECT_TRUE(request.has_value()) << request.error().message;
    GrantChoice choice;
    choice.care_contexts = contexts;
    auto granted = manager_->grant(session_, asha_.abha_number, request->id, choice);
    EXPECT_TRUE(granted.has_value()) << granted.error().message;
    EXPECT_TRUE(dispatcher_->deliver_due().has_value());
    last_request_ = request->id;
    return granted->artefact_ids.front();
  }

  auth::AccessToken doctor(const std::string& consent_id,
                           const char* scopes = "abdm/hiu facility:apollo-chennai") const {
    return auth::AccessToken{"c-apollo", *auth::ScopeSet::parse(scopes), 0, consent_id};
  }

  std::set<std::string> search_ids(const auth::AccessToken& caller, const char* type,
                                   std::size_t count = 20) {
    std::set<std::string> ids;
    std::string after;
    do {
      auto page =
          resources_->search(caller, {type, {{"patient", "Patient/" + asha_id_}}, count, after});
      EXPECT_TRUE(page.has_value()) << page.error().message;
      if (!page) break;
      for (const auto& resource : page->resources) ids.insert(resource.id);
      after = page->next_after_id;
    } while (!after.empty());
    return ids;
  }

  auth::AccessToken hospital_{"c-hmis", *auth::ScopeSet::parse("system/*.cruds"), 0};
  std::unique_ptr<HipConsents> hip_;
  std::unique_ptr<fhir::ResourceService> resources_;
  std::unique_ptr<ConsentRecordGate> gate_;
  std::unique_ptr<OutboxDispatcher> dispatcher_;
  std::string asha_id_, ravi_id_, recent_visit_, old_visit_, recent_lab_, old_lab_, recent_vitals_,
      undated_lab_, ravi_lab_, last_request_;
};

TEST_F(ConsentRecordGateTest, ADoctorSeesExactlyTheConsentedRecords) {
  const auto caller = doctor(grant({HiType::kDiagnosticReport}));
  EXPECT_TRUE(resources_->read(caller, "Observation", recent_lab_).has_value());
  EXPECT_TRUE(resources_->read(caller, "Patient", asha_id_).has_value());
  // Outside the consent: another type, too old, undated, another patient. All look unknown.
  for (const auto& id : {old_lab_, recent_vitals_, undated_lab_, ravi_lab_}) {
    auto refused = resources_->read(caller, "Observation", id);
    ASSERT_FALSE(refused.has_value()) << id;
    EXPECT_EQ(refused.error().code, ErrorCode::kNotFound);
  }
  EXPECT_EQ(resources_->read(caller, "Patient", ravi_id_).error().code, ErrorCode::kNotFound);
  // Searches return and page over the consented records only, whatever the page size.
  EXPECT_EQ(search_ids(caller, "Observation"), std::set<std::string>{recent_lab_});
  EXPECT_EQ(search_ids(caller, "Observation", 1), std::set<std::string>{recent_lab_});
  auto everything = resources_->everything(caller, asha_id_, "", 50);
  ASSERT_TRUE(everything.has_value());
  std::set<std::string> listed;
  for (const auto& resource : everything->resources)
    listed.insert(resource.type + "/" + resource.id);
  EXPECT_EQ(listed, (std::set<std::string>{"Patient/" + asha_id_, "Observation/" + recent_lab_}));
  EXPECT_EQ(resources_->everything(caller, ravi_id_, "", 50).error().code, ErrorCode::kNotFound);
  auto history = resources_->history(caller, "Observation", recent_lab_, 10);
  EXPECT_TRUE(history.has_value());
  EXPECT_EQ(resources_->history(caller, "Observation", old_lab_, 10).error().code,
            ErrorCode::kNotFound);
}

TEST_F(ConsentRecordGateTest, CareContextsAndTypesNarrowWhatIsServed) {
  const auto caller = doctor(grant({HiType::kDiagnosticReport, HiType::kWellnessRecord}, 500,
                                   std::vector<CareContext>{{asha_id_, old_visit_}}));
  EXPECT_EQ(search_ids(caller, "Observation"), std::set<std::string>{old_lab_});
  EXPECT_EQ(resources_->read(caller, "Observation", recent_vitals_).error().code,
            ErrorCode::kNotFound);
}

TEST_F(ConsentRecordGateTest, ConsentCallersCannotWriteAndNeedAValidGrant) {
  const std::string consent_id = grant({HiType::kDiagnosticReport});
  const auto caller = doctor(consent_id);
  auto write = resources_->create(caller, "Observation",
                                  observation(asha_id_, "laboratory", days_ago(1), ""));
  ASSERT_FALSE(write.has_value());
  EXPECT_EQ(write.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(resources_->update(caller, "Observation", recent_lab_, "{}", std::nullopt).error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(resources_->type_history(caller, "Observation", 0, 10).error().code,
            ErrorCode::kPermissionDenied);
  // Another HIU, a client that is not an HIU, an unknown consent: refused with a reason.
  auto other = resources_->read(doctor(consent_id, "abdm/hiu facility:fortis-noida"), "Observation",
                                recent_lab_);
  EXPECT_EQ(other.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(other.error().message.find("another facility"), std::string::npos);
  EXPECT_EQ(
      resources_->read(doctor(consent_id, "system/*.rs"), "Observation", recent_lab_).error().code,
      ErrorCode::kPermissionDenied);
  EXPECT_EQ(resources_->read(doctor("no-such-consent"), "Observation", recent_lab_).error().code,
            ErrorCode::kPermissionDenied);
  // A search must name the patient.
  EXPECT_EQ(resources_->search(caller, {"Observation", {{"status", "final"}}, 20, ""}).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(ConsentRecordGateTest, RevocationAndExpiryStopTheNextRead) {
  const std::string consent_id = grant({HiType::kDiagnosticReport});
  const auto caller = doctor(consent_id);
  ASSERT_TRUE(resources_->read(caller, "Observation", recent_lab_).has_value());
  ASSERT_TRUE(manager_->revoke(session_, asha_.abha_number, last_request_).has_value());
  ASSERT_TRUE(dispatcher_->deliver_due().has_value());
  auto revoked = resources_->read(caller, "Observation", recent_lab_);
  EXPECT_EQ(revoked.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(revoked.error().message.find("not granted"), std::string::npos);

  const auto fresh = doctor(grant({HiType::kDiagnosticReport}));
  ASSERT_TRUE(resources_->read(fresh, "Observation", recent_lab_).has_value());
  clock_.advance(std::chrono::hours(24 * 31));  // past dataEraseAt, before any notice
  EXPECT_NE(resources_->read(fresh, "Observation", recent_lab_).error().message.find("expired"),
            std::string::npos);
}

TEST_F(ConsentRecordGateTest, ReadsUnderConsentAreLoggedWithTheConsent) {
  const std::string consent_id = grant({HiType::kDiagnosticReport});
  const auto caller = doctor(consent_id);
  ASSERT_TRUE(resources_->read(caller, "Observation", recent_lab_).has_value());
  ASSERT_FALSE(resources_->read(caller, "Observation", old_lab_).has_value());
  auto entries = store_->audit_entries_about(asha_id_, -1, 1000);
  ASSERT_TRUE(entries.has_value());
  std::size_t allowed = 0, denied = 0;
  for (const auto& stored : *entries) {
    const auto entry = *audit::decode_entry(stored.entry);
    if (entry.basis != audit::Basis::kConsent) continue;
    EXPECT_EQ(entry.consent_id, consent_id);
    EXPECT_EQ(entry.purpose, "CAREMGT");
    EXPECT_EQ(entry.facility_id, "apollo-chennai");
    (entry.outcome == audit::Outcome::kAllowed ? allowed : denied) += 1;
    if (entry.outcome == audit::Outcome::kDenied) {
      EXPECT_EQ(entry.resource_id, old_lab_);
    }
  }
  EXPECT_EQ(allowed, 1U);
  EXPECT_EQ(denied, 1U);
}

// The record-access layer attacked with random consents and records: every record served through
// the FHIR API must be one the independent oracle allows, and every record it allows is served.
TEST_F(ConsentRecordGateTest, RandomConsentsServeNothingOutsideThem) {
  std::mt19937 random(29);
  const auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(random); };
  struct Planted {
    std::string id;
    std::string patient;
    HiType type;
    std::int64_t date_ms;
    std::string visit;
  };
  std::vector<Planted> planted;
  const std::vector<std::string> visits = {recent_visit_, old_visit_};
  for (int i = 0; i < 40; ++i) {
    const bool asha = pick(4) != 0;
    const bool lab = pick(2) == 0;
    const int age_days = pick(500);
    const std::string visit = visits[static_cast<std::size_t>(pick(2))];
    const std::string patient = asha ? asha_id_ : ravi_id_;
    planted.push_back(
        {create("Observation", observation(patient, lab ? "laboratory" : "vital-signs",
                                           days_ago(age_days), visit)),
         patient, lab ? HiType::kDiagnosticReport : HiType::kWellnessRecord,
         now_ms() - age_days * kDayMs, visit});
  }
  std::size_t served_total = 0;
  for (int round = 0; round < 12; ++round) {
    std::vector<HiType> types;
    if (pick(2)) types.push_back(HiType::kDiagnosticReport);
    if (pick(2) || types.empty()) types.push_back(HiType::kWellnessRecord);
    const int range_days = 1 + pick(500);
    std::optional<std::vector<CareContext>> contexts;
    if (pick(2))
      contexts = std::vector<CareContext>{{asha_id_, visits[static_cast<std::size_t>(pick(2))]}};
    const std::int64_t from_ms = now_ms() - range_days * kDayMs;
    const auto caller = doctor(grant(types, range_days, contexts));
    const bool revoke = pick(4) == 0;
    if (revoke) {
      ASSERT_TRUE(manager_->revoke(session_, asha_.abha_number, last_request_).has_value());
      ASSERT_TRUE(dispatcher_->deliver_due().has_value());
    }
    for (const auto& record : planted) {
      const bool should = !revoke && record.patient == asha_id_ &&
                          std::find(types.begin(), types.end(), record.type) != types.end() &&
                          record.date_ms >= from_ms &&
                          (!contexts || contexts->front().care_context_reference == record.visit);
      const bool served = resources_->read(caller, "Observation", record.id).has_value();
      EXPECT_EQ(served, should) << "round " << round << " record " << record.id;
      served_total += served;
    }
  }
  EXPECT_GT(served_total, 0U);
}

TEST_F(ConsentRecordGateTest, BreakTheGlassOpensThePatientsRecordsForItsWindowOnly) {
  auto opened =
      manager_->break_glass("apollo-chennai", {"asha.devi@sbx", "aiims-delhi", "MH1001",
                                               "Road accident, unconscious, needs allergy history",
                                               std::chrono::hours(2)});
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  ASSERT_TRUE(dispatcher_->deliver_due().has_value());
  const auto caller = doctor(opened->artefact_ids.front());
  // Every dated record of Asha's at this HIP, of any type and age; still nothing of Ravi's.
  EXPECT_EQ(search_ids(caller, "Observation"),
            (std::set<std::string>{recent_lab_, old_lab_, recent_vitals_}));
  EXPECT_EQ(resources_->read(caller, "Observation", ravi_lab_).error().code, ErrorCode::kNotFound);
  auto entries = store_->audit_entries_about(asha_id_, -1, 1000);
  // Each record read under the emergency access is named by an entry flagged as such.
  std::set<std::string> flagged;
  for (const auto& stored : *entries) {
    const auto entry = *audit::decode_entry(stored.entry);
    if (entry.basis != audit::Basis::kBreakGlass) continue;
    if (!entry.resource_id.empty()) flagged.insert(entry.resource_id);
    for (const auto& record : entry.further_records) flagged.insert(record.id);
  }
  EXPECT_EQ(flagged, (std::set<std::string>{recent_lab_, old_lab_, recent_vitals_}));
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(resources_->read(caller, "Observation", recent_lab_).error().code,
            ErrorCode::kPermissionDenied);
}

TEST(RecordClassification, MapsResourcesToHiTypesAndDates) {
  const auto parse = [](const char* text) { return json::parse(text).as_object(); };
  EXPECT_EQ(
      hi_type_of(
          "Composition",
          parse(R"({"type":{"coding":[{"system":"http://snomed.info/sct","code":"440545006"}]}})")),
      HiType::kPrescription);
  EXPECT_EQ(hi_type_of("Composition", parse(R"({"type":{"text":"Wellness Record"}})")),
            HiType::kWellnessRecord);
  EXPECT_FALSE(hi_type_of("Composition", parse(R"({"type":{"text":"x"}})")).has_value());
  EXPECT_EQ(hi_type_of("Encounter", parse(R"({"class":{"code":"IMP"}})")),
            HiType::kDischargeSummary);
  EXPECT_EQ(hi_type_of("MedicationRequest", parse("{}")), HiType::kPrescription);
  EXPECT_FALSE(hi_type_of("Organization", parse("{}")).has_value());
  EXPECT_FALSE(hi_type_of("Observation", parse("{}")).has_value());
  EXPECT_EQ(care_date_of("Observation", parse(R"({"effectiveDateTime":"2026-01-02T03:04:05Z"})")),
            parse_instant_ms("2026-01-02T03:04:05Z"));
  EXPECT_EQ(care_date_of("Encounter", parse(R"({"period":{"start":"2026-01-02"}})")),
            parse_instant_ms("2026-01-02"));
  EXPECT_FALSE(care_date_of("Observation", parse(R"({"effectiveDateTime":"2026"})")).has_value());
  EXPECT_EQ(
      care_context_of("Observation", "o1", parse(R"({"encounter":{"reference":"Encounter/e9"}})")),
      "e9");
  EXPECT_EQ(care_context_of("Encounter", "e1", parse("{}")), "e1");
}

}  // namespace
}  // namespace kavach::consent
