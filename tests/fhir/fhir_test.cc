#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_entry.h"
#include "audit/audit_log.h"
#include "audit/merkle_tree.h"
#include "audit/signed_note.h"
#include "common/query_string.h"
#include "crypto/encoding.h"
#include "crypto/key_ring.h"
#include "fhir/audit_event_service.h"
#include "fhir/resource_service.h"
#include "fhir/resource_types.h"
#include "fhir/search_index.h"
#include "fhir/search_match.h"
#include "fhir/search_parameters.h"
#include "fhir/search_query.h"
#include "store/forwarding_store.h"
#include "store/store_factory.h"
#include "support/temp_dir.h"

namespace kavach::fhir {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Key;
using ::testing::Not;
using ::testing::Pair;

boost::json::object parse(const char* text) { return boost::json::parse(text).as_object(); }

TEST(SearchIndex, PatientTermsAreNormalised) {
  const auto terms = extract_index_terms("Patient", parse(R"({
    "name":[{"family":"Sharma","given":["Asha","Devi"]}],
    "telecom":[{"system":"phone","value":"+91 98765-43210"},{"system":"email","value":"a@b"}],
    "identifier":[{"system":"https://healthid.ndhm.gov.in","value":"91-1111"}],
    "gender":"female","birthDate":"1990-02-03"})"));
  // Strings by their case-folded prefixes; family and given are looked up under name.
  EXPECT_THAT(terms, Contains(Pair("name", "sharma")));
  EXPECT_THAT(terms, Contains(Pair("name", "sh")));
  EXPECT_THAT(terms, Contains(Pair("name", "devi")));
  EXPECT_THAT(terms, Contains(Pair("name", "asha")));
  EXPECT_THAT(terms, Contains(Pair("name", "s")));
  EXPECT_THAT(terms, Not(Contains(Key("family"))));
  EXPECT_THAT(terms, Not(Contains(Key("given"))));
  // The type and meta.lastUpdated are the records table's (Store::find_recorded), not the index's.
  EXPECT_THAT(terms, Not(Contains(Key("_type"))));
  EXPECT_THAT(terms, Not(Contains(Key("_lastUpdated"))));
  EXPECT_THAT(terms, Contains(Pair("phone", "919876543210")));
  EXPECT_THAT(terms, Contains(Pair("phone", "9876543210")));
  EXPECT_THAT(terms, Contains(Pair("identifier", "https://healthid.ndhm.gov.in|91-1111")));
  EXPECT_THAT(terms, Contains(Pair("identifier", "91-1111")));
  EXPECT_THAT(terms, Contains(Pair("gender", "female")));
  // Dates by calendar buckets of their first day.
  EXPECT_THAT(terms, Contains(Pair("birthdate", "sD1990-02-03")));
  EXPECT_THAT(terms, Contains(Pair("birthdate", "sY1990")));
  EXPECT_EQ(string_index_value("SHARMA-VERMA"), "sharma-v");
}

// A parameter looked up under another's rows must find every record it matches there: the other
// parameter is of the same type and kind, has rows of its own, and reads a path that holds the
// first one's values.
TEST(SearchIndex, AParameterIndexedAsAnotherIsCoveredByIt) {
  int covered = 0;
  for (const auto type : supported_types()) {
    for (const auto& parameter : parameters_of(type)) {
      if (parameter.indexed_as.empty()) continue;
      ++covered;
      const auto* under = find_parameter(type, parameter.indexed_as);
      ASSERT_NE(under, nullptr) << type << "." << parameter.name;
      EXPECT_EQ(under->kind, parameter.kind) << type << "." << parameter.name;
      EXPECT_TRUE(under->indexed_as.empty()) << type << "." << parameter.name;
      EXPECT_EQ(under->target, parameter.target) << type << "." << parameter.name;
      EXPECT_TRUE(parameter.path == under->path ||
                  parameter.path.starts_with(std::string(under->path) + "."))
          << type << "." << parameter.name;
    }
  }
  EXPECT_GE(covered, 14);
}

TEST(SearchIndex, ClinicalTermsAndPartition) {
  const auto observation =
      parse(R"({"code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},
    "subject":{"reference":"Patient/p1"},"status":"final"})");
  const auto terms = extract_index_terms("Observation", observation);
  // One row per coding: a "system|code" search looks up the bare code and checks the system.
  EXPECT_THAT(terms, Contains(Pair("code", "4548-4")));
  EXPECT_THAT(terms, Not(Contains(Pair("code", "http://loinc.org|4548-4"))));
  EXPECT_THAT(terms, Contains(Pair("subject", "Patient/p1")));
  EXPECT_THAT(terms, Not(Contains(Key("patient"))));  // looked up under subject
  EXPECT_THAT(terms, Contains(Pair("status", "final")));
  EXPECT_EQ(partition_of("Observation", "o1", observation), "p1");
  EXPECT_EQ(partition_of("Patient", "p9", observation), "p9");
  EXPECT_EQ(partition_of("Organization", "x", parse(R"({"name":"AIIMS"})")), "");
  EXPECT_EQ(partition_of("Observation", "x", parse(R"({"subject":{"reference":"Group/g"}})")), "");
}

// The consent gate finds a patient by "system|value" without opening the record, so an
// identifier is indexed under both forms and a search by "system|value" looks up that form.
TEST(SearchIndex, IdentifiersKeepTheirSystemForm) {
  const auto patient = parse(R"({"identifier":[
    {"system":"https://healthid.abdm.gov.in","value":"91-1111-2222-3333"},{"value":"MRN-7"}]})");
  const auto terms = extract_index_terms("Patient", patient);
  EXPECT_THAT(terms,
              Contains(Pair("identifier", "https://healthid.abdm.gov.in|91-1111-2222-3333")));
  EXPECT_THAT(terms, Contains(Pair("identifier", "91-1111-2222-3333")));
  EXPECT_THAT(terms, Contains(Pair("identifier", "MRN-7")));

  const auto lookups = [](std::string_view type, std::string_view query) {
    const auto parsed = parse_search_query(type, parse_query(query));
    EXPECT_TRUE(parsed) << query;
    return parsed ? *candidate_index_values(parsed->predicates.at(0)) : std::vector<std::string>{};
  };
  EXPECT_THAT(lookups("Patient", "identifier=https://healthid.abdm.gov.in|91-1"),
              ElementsAre("https://healthid.abdm.gov.in|91-1"));
  EXPECT_THAT(lookups("Observation", "code=http://loinc.org|4548-4"), ElementsAre("4548-4"));
  EXPECT_THAT(lookups("Observation", "code=|4548-4"), ElementsAre("4548-4"));
}

TEST(SearchIndex, WrongShapesAreIgnored) {
  EXPECT_THAT(
      extract_index_terms(
          "Patient",
          parse(
              R"({"name":5,"telecom":[1,null],"identifier":{},"code":[],"subject":"Patient/1"})")),
      ::testing::IsEmpty());
}

class ResourceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ring_ = std::make_unique<crypto::KeyRing>(*crypto::KeyRing::create(dir_.path() / "k"));
    store_ = *store::open_store("sqlite:" + (dir_.path() / "db").string());
    keys_ = std::make_unique<vault::KeyVault>(*store_, *ring_, clock_);
    sealer_ = std::make_unique<vault::RecordSealer>(*keys_);
    service_ = std::make_unique<ResourceService>(*store_, *sealer_, clock_);
  }
  static auth::AccessToken caller(const char* scopes) {
    return auth::AccessToken{"c-test", *auth::ScopeSet::parse(scopes), 0};
  }
  // Every audit entry so far, decoded, with its raw bytes.
  std::vector<std::pair<audit::AuditEntry, store::Bytes>> audit_entries() {
    std::vector<std::pair<audit::AuditEntry, store::Bytes>> out;
    const auto page = store_->read_audit_entries(0, 1000);
    for (const auto& stored : *page) {
      auto decoded = audit::decode_entry(stored.entry);
      EXPECT_TRUE(decoded) << decoded.error().message;
      EXPECT_EQ(stored.subject, decoded->subject);
      out.emplace_back(*decoded, stored.entry);
    }
    return out;
  }

  testing::TempDir dir_;
  ManualClock clock_{TimePoint{std::chrono::seconds{1'700'000'000}}};
  std::unique_ptr<crypto::KeyRing> ring_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<vault::KeyVault> keys_;
  std::unique_ptr<vault::RecordSealer> sealer_;
  std::unique_ptr<ResourceService> service_;
  auth::AccessToken all_ = caller("system/*.cruds");
};

TEST_F(ResourceServiceTest, CreateReadUpdateDeleteKeepsHistory) {
  auto created = service_->create(all_, "Patient", R"({"resourceType":"Patient","gender":"male"})");
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->version, 1);
  EXPECT_THAT(created->json, ::testing::HasSubstr(R"("versionId":"1")"));
  EXPECT_THAT(created->json, ::testing::HasSubstr(R"("lastUpdated":"2023-11-14T22:13:20.000Z")"));
  const auto id = created->id;
  EXPECT_EQ(id.size(), 32u);

  auto stale = service_->update(all_, "Patient", id, R"({"resourceType":"Patient"})", 7);
  EXPECT_EQ(stale.error().code, ErrorCode::kFailedPrecondition);
  auto updated =
      service_->update(all_, "Patient", id, R"({"resourceType":"Patient","gender":"other"})", 1);
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->version, 2);
  EXPECT_THAT(service_->vread(all_, "Patient", id, 1)->json, ::testing::HasSubstr("male"));
  ASSERT_TRUE(service_->remove(all_, "Patient", id));
  EXPECT_EQ(service_->read(all_, "Patient", id).error().code, ErrorCode::kGone);
  auto history = service_->history(all_, "Patient", id, 10);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 3u);
  EXPECT_TRUE((*history)[0].deleted);
  EXPECT_EQ(service_->vread(all_, "Patient", id, 3).error().code, ErrorCode::kGone);
  EXPECT_EQ(service_->vread(all_, "Patient", id, 9).error().code, ErrorCode::kNotFound);
}

TEST_F(ResourceServiceTest, AQueuedCreateIsStoredAndLoggedOnceItsTicketIsDurable) {
  auto created =
      service_->create_queued(all_, "Patient", R"({"resourceType":"Patient","gender":"female"})");
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->resource.version, 1);
  EXPECT_EQ(created->resource.id.size(), 32u);
  const auto durable = created->durable.wait();
  ASSERT_TRUE(durable) << durable.error().message;
  const auto read = service_->read(all_, "Patient", created->resource.id);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->json, created->resource.json);
  const auto entries = audit_entries();
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.front().first.action, audit::Action::kRecordCreate);
  EXPECT_EQ(entries.front().first.resource_id, created->resource.id);

  // Refused as create() refuses: nothing queued, nothing written.
  EXPECT_EQ(
      service_
          ->create_queued(caller("system/Patient.r"), "Patient", R"({"resourceType":"Patient"})")
          .error()
          .code,
      ErrorCode::kPermissionDenied);
  EXPECT_EQ(service_->create_queued(all_, "Patient", R"({"resourceType":"Patient","colour":1})")
                .error()
                .code,
            ErrorCode::kUnprocessable);
  EXPECT_EQ(audit_entries().size(), entries.size() + 1) << "the access refused, logged";
}

TEST_F(ResourceServiceTest, QueuedCreatesForAPatientWithoutAKeyAllSucceedTogether) {
  // The first records of a patient nobody has written for yet: each request makes the patient's
  // data key, only one can store it, and the others must still succeed with the stored one.
  const std::string observation = R"({"resourceType":"Observation","status":"final",
      "code":{"text":"pulse"},"subject":{"reference":"Patient/p-new"}})";
  std::vector<Result<QueuedCreate>> created(8, make_error(ErrorCode::kInternal, "not run"));
  {
    std::vector<std::jthread> threads;
    for (auto& slot : created) {
      threads.emplace_back(
          [&] { slot = service_->create_queued(all_, "Observation", observation); });
    }
  }
  for (auto& each : created) {
    ASSERT_TRUE(each) << each.error().message;
    const auto durable = each->durable.wait();
    ASSERT_TRUE(durable) << durable.error().message;
    EXPECT_TRUE(service_->read(all_, "Observation", each->resource.id));
  }
}

TEST_F(ResourceServiceTest, BadInputIsRefusedWithAClearError) {
  const std::string deep =
      R"({"resourceType":"Patient","a":)" + std::string(100, '[') + std::string(100, ']') + "}";
  const std::pair<std::string, const char*> bodies[] = {
      {"not json", "not valid JSON"},
      {"[1,2]", "not a FHIR resource object"},
      {R"({"resourceType":"Observation"})", "resourceType must be \"Patient\""},
      {deep, "not valid JSON"},
  };
  for (const auto& [body, fragment] : bodies) {
    auto result = service_->create(all_, "Patient", body);
    ASSERT_FALSE(result) << body;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(result.error().message, ::testing::HasSubstr(fragment));
  }
  EXPECT_EQ(service_->create(all_, "Spaceship", "{}").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->read(all_, "Patient", "../etc/passwd").error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->read(all_, "Patient", "missing").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->changes_since(0, 10)->empty());  // nothing was written by any of these
}

TEST_F(ResourceServiceTest, ScopesAreEnforcedInTheDomain) {
  const auto reader = caller("system/Patient.rs");
  auto created = service_->create(all_, "Patient", R"({"resourceType":"Patient"})");
  EXPECT_TRUE(service_->read(reader, "Patient", created->id));
  EXPECT_EQ(service_->create(reader, "Patient", R"({"resourceType":"Patient"})").error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(service_->remove(reader, "Patient", created->id).error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(service_->read(reader, "Observation", "x").error().code, ErrorCode::kPermissionDenied);
  const auto updater = caller("system/Patient.u");
  EXPECT_EQ(
      service_->update(updater, "Patient", "new-id", R"({"resourceType":"Patient"})", std::nullopt)
          .error()
          .code,
      ErrorCode::kPermissionDenied);  // update-as-create needs the create scope too
}

TEST_F(ResourceServiceTest, EveryInteractionLandsInTheAuditLogWithoutContent) {
  using audit::Action;
  auto patient = service_->create(
      all_, "Patient", R"({"resourceType":"Patient","name":[{"family":"Raghunathan"}]})");
  ASSERT_TRUE(patient);
  const std::string observation_body =
      R"({"resourceType":"Observation","status":"final","subject":{"reference":"Patient/)" +
      patient->id + R"("},"code":{"text":"HbA1c"},"valueQuantity":{"value":7.9}})";
  auto observation = service_->create(all_, "Observation", observation_body);
  ASSERT_TRUE(observation);
  ASSERT_TRUE(service_->read(all_, "Observation", observation->id));
  ASSERT_TRUE(
      service_->search(all_, {"Observation", {{"subject", "Patient/" + patient->id}}, 20, ""}));
  ASSERT_TRUE(service_->history(all_, "Observation", observation->id, 10));
  const auto outsider =
      auth::AccessToken{"c-outsider", *auth::ScopeSet::parse("system/Patient.r"), 0};
  EXPECT_EQ(service_->read(outsider, "Observation", observation->id).error().code,
            ErrorCode::kPermissionDenied);
  ASSERT_TRUE(service_->remove(all_, "Observation", observation->id));
  // Not found touches no patient's data and is not logged.
  EXPECT_FALSE(service_->read(all_, "Observation", "missing"));

  const auto entries = audit_entries();
  ASSERT_EQ(entries.size(), 7U);
  const Action expected[] = {Action::kRecordCreate, Action::kRecordCreate,  Action::kRecordRead,
                             Action::kRecordSearch, Action::kRecordHistory, Action::kRecordRead,
                             Action::kRecordDelete};
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& [entry, bytes] = entries[i];
    EXPECT_EQ(entry.action, expected[i]) << i;
    EXPECT_EQ(entry.subject, patient->id) << i;  // the Patient record is its own partition
    EXPECT_EQ(entry.time_ms, 1'700'000'000'000);
    const std::string raw(bytes.begin(), bytes.end());
    EXPECT_EQ(raw.find("Raghunathan"), std::string::npos);
    EXPECT_EQ(raw.find("HbA1c"), std::string::npos);
  }
  EXPECT_EQ(entries[5].first.outcome, audit::Outcome::kDenied);
  EXPECT_EQ(entries[5].first.actor_id, "c-outsider");
  EXPECT_EQ(entries[5].first.reason, "permission_denied");
  EXPECT_EQ(entries[2].first.outcome, audit::Outcome::kAllowed);
  EXPECT_EQ(entries[2].first.resource_id, observation->id);
  // The read names the exact stored bytes it returned.
  const auto stored = **store_->read_current("Observation", observation->id);
  const auto tombstone_version = stored.version;
  const auto first_version = **store_->read_version("Observation", observation->id, 1);
  const auto hash = audit::sha256(first_version.payload);
  EXPECT_EQ(entries[2].first.content_hash, std::vector<std::uint8_t>(hash.begin(), hash.end()));
  EXPECT_EQ(entries[6].first.resource_version, tombstone_version);
}

TEST_F(ResourceServiceTest, ASearchPageIsOneEntryPerPatientNamingEachRecordItReturned) {
  std::map<std::string, std::vector<std::string>> observations_of;  // patient -> ids, in order
  for (const auto* family : {"Iyer", "Nair"}) {
    auto patient = service_->create(
        all_, "Patient",
        fmt::format(R"({{"resourceType":"Patient","name":[{{"family":"{}"}}]}})", family));
    ASSERT_TRUE(patient);
    for (int n = 0; n < 3; ++n) {
      auto observation = service_->create(
          all_, "Observation",
          fmt::format(
              R"({{"resourceType":"Observation","status":"final","code":{{"text":"HbA1c"}},)"
              R"("subject":{{"reference":"Patient/{}"}}}})",
              patient->id));
      ASSERT_TRUE(observation);
      observations_of[patient->id].push_back(observation->id);
    }
  }
  const auto logged_before = audit_entries().size();
  auto page = service_->search(all_, {"Observation", {{"status", "final"}}, 20, ""});
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->resources.size(), 6U);
  const auto entries = audit_entries();
  ASSERT_EQ(entries.size(), logged_before + 2);  // one per patient, not one per record
  for (std::size_t i = logged_before; i < entries.size(); ++i) {
    const auto& entry = entries[i].first;
    EXPECT_EQ(entry.action, audit::Action::kRecordSearch);
    ASSERT_TRUE(observations_of.contains(entry.subject));
    std::vector<audit::TouchedRecord> named{
        {entry.resource_type, entry.resource_id, entry.resource_version, entry.content_hash}};
    named.insert(named.end(), entry.further_records.begin(), entry.further_records.end());
    std::vector<std::string> ids;
    for (const auto& record : named) {
      ids.push_back(record.id);
      // Each names the exact stored bytes returned.
      const auto stored = **store_->read_current("Observation", record.id);
      const auto hash = audit::sha256(stored.payload);
      EXPECT_EQ(record.content_hash, std::vector<std::uint8_t>(hash.begin(), hash.end()));
      EXPECT_EQ(record.version, stored.version);
    }
    std::sort(ids.begin(), ids.end());
    auto expected = observations_of.at(entry.subject);
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(ids, expected);
  }
}

TEST_F(ResourceServiceTest, ConditionalCreateUpdateAndDeleteFollowTheMatches) {
  const std::string body =
      R"({"resourceType":"Patient","identifier":[{"system":"https://abha.abdm.gov.in","value":"91-1111-2222-3333"}]})";
  const SearchParameters by_abha{{"identifier", "https://abha.abdm.gov.in|91-1111-2222-3333"}};
  auto first = service_->create_if_none_exist(all_, "Patient", body, by_abha);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->created);
  auto again = service_->create_if_none_exist(all_, "Patient", body, by_abha);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->resource.id, first->resource.id);

  auto updated = service_->update_where(
      all_, "Patient", by_abha,
      R"({"resourceType":"Patient","gender":"female","identifier":[{"system":"https://abha.abdm.gov.in","value":"91-1111-2222-3333"}]})");
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_FALSE(updated->created);
  EXPECT_EQ(updated->resource.id, first->resource.id);
  EXPECT_EQ(updated->resource.version, 2);
  auto wrong_id = service_->update_where(all_, "Patient", by_abha,
                                         R"({"resourceType":"Patient","id":"someone-else"})");
  EXPECT_EQ(wrong_id.error().code, ErrorCode::kInvalidArgument);
  auto created = service_->update_where(all_, "Patient", {{"identifier", "urn:x|new"}},
                                        R"({"resourceType":"Patient","id":"chosen-id"})");
  ASSERT_TRUE(created);
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->resource.id, "chosen-id");

  // Two matches: 412 for every conditional interaction, and nothing is written.
  ASSERT_TRUE(service_->create(all_, "Patient", body));
  EXPECT_EQ(service_->create_if_none_exist(all_, "Patient", body, by_abha).error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(service_->remove_where(all_, "Patient", by_abha).error().code,
            ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(service_->remove(all_, "Patient", first->resource.id));
  auto removed = service_->remove_where(all_, "Patient", by_abha);
  ASSERT_TRUE(removed);
  ASSERT_TRUE(*removed);
  EXPECT_TRUE((*removed)->deleted);
  auto nothing = service_->remove_where(all_, "Patient", by_abha);
  ASSERT_TRUE(nothing);
  EXPECT_FALSE(*nothing);
  // The criteria must be search parameters, and searching needs its scope.
  EXPECT_EQ(service_->remove_where(all_, "Patient", {}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->remove_where(all_, "Patient", {{"colour", "blue"}}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->create_if_none_exist(caller("system/Patient.c"), "Patient", body, by_abha)
                .error()
                .code,
            ErrorCode::kPermissionDenied);
}

TEST_F(ResourceServiceTest, PatchAppliesToTheCurrentVersion) {
  auto created = service_->create(all_, "Patient", R"({"resourceType":"Patient","gender":"male"})");
  ASSERT_TRUE(created);
  auto patched = service_->patch(all_, "Patient", created->id,
                                 R"([{"op":"replace","path":"/gender","value":"female"},
                                     {"op":"add","path":"/birthDate","value":"1990-01-01"}])",
                                 1);
  ASSERT_TRUE(patched) << patched.error().message;
  EXPECT_EQ(patched->version, 2);
  EXPECT_THAT(patched->json, ::testing::HasSubstr(R"("gender":"female")"));
  EXPECT_THAT(patched->json, ::testing::HasSubstr(R"("versionId":"2")"));
  EXPECT_EQ(service_->patch(all_, "Patient", created->id, "[]", 1).error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(service_
                ->patch(all_, "Patient", created->id,
                        R"([{"op":"replace","path":"/id","value":"other"}])", std::nullopt)
                .error()
                .code,
            ErrorCode::kUnprocessable);
  EXPECT_EQ(service_
                ->patch(all_, "Patient", created->id,
                        R"([{"op":"test","path":"/gender","value":"male"}])", std::nullopt)
                .error()
                .code,
            ErrorCode::kUnprocessable);
  EXPECT_EQ(service_->patch(all_, "Patient", "missing", "[]", std::nullopt).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(service_->patch(caller("system/Patient.r"), "Patient", created->id, "[]", std::nullopt)
                .error()
                .code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ((*store_->read_current("Patient", created->id))->version, 2);  // refusals wrote nothing
}

TEST_F(ResourceServiceTest, TypeHistoryPagesNewestFirst) {
  const char* condition = R"({"resourceType":"Condition","subject":{"reference":"Patient/p"}})";
  auto a = service_->create(all_, "Condition", condition);
  auto b = service_->create(all_, "Condition", condition);
  ASSERT_TRUE(service_->update(all_, "Condition", a->id, condition, 1));
  ASSERT_TRUE(
      service_->create(all_, "Observation",
                       R"({"resourceType":"Observation","status":"final","code":{"text":"x"}})"));
  auto first = service_->type_history(all_, "Condition", 0, 2);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->versions.size(), 2U);
  EXPECT_EQ(first->versions[0].id, a->id);
  EXPECT_EQ(first->versions[0].version, 2);
  EXPECT_EQ(first->versions[1].id, b->id);
  auto second = service_->type_history(all_, "Condition", first->next_before, 2);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->versions.size(), 1U);
  EXPECT_EQ(second->next_before, 0);
  EXPECT_EQ(service_->type_history(caller("system/Patient.r"), "Condition", 0, 10).error().code,
            ErrorCode::kPermissionDenied);
}

TEST_F(ResourceServiceTest, EverythingIsThePatientsCompartmentWithinTheCallersScopes) {
  auto patient = service_->create(all_, "Patient", R"({"resourceType":"Patient"})");
  auto other = service_->create(all_, "Patient", R"({"resourceType":"Patient"})");
  const auto of = [](const std::string& id) {
    return R"({"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/)" +
           id + R"("}})";
  };
  auto mine = service_->create(all_, "Observation", of(patient->id));
  ASSERT_TRUE(service_->create(all_, "Observation", of(other->id)));
  ASSERT_TRUE(service_->create(
      all_, "Condition",
      R"({"resourceType":"Condition","subject":{"reference":"Patient/)" + patient->id + R"("}})"));
  auto page = service_->everything(all_, patient->id, "", 100);
  ASSERT_TRUE(page) << page.error().message;
  std::vector<std::string> types;
  for (const auto& resource : page->resources) types.push_back(resource.type);
  EXPECT_THAT(types, ::testing::ElementsAre("Condition", "Observation", "Patient"));
  EXPECT_EQ(page->resources[1].id, mine->id);
  // Paging, and only what the scopes allow.
  auto first = service_->everything(all_, patient->id, "", 2);
  ASSERT_EQ(first->resources.size(), 2U);
  auto rest = service_->everything(all_, patient->id, first->next_after_id, 2);
  ASSERT_EQ(rest->resources.size(), 1U);
  EXPECT_EQ(rest->resources[0].type, "Patient");
  auto narrow =
      service_->everything(caller("system/Patient.r system/Observation.r"), patient->id, "", 100);
  ASSERT_TRUE(narrow);
  EXPECT_EQ(narrow->resources.size(), 2U);
  EXPECT_EQ(service_->everything(all_, "missing", "", 10).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->everything(all_, patient->id, "no-slash", 10).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(ResourceServiceTest, ATransactionWritesEveryEntryWithReferencesResolved) {
  ASSERT_TRUE(service_->create(
      all_, "Organization",
      R"({"resourceType":"Organization","identifier":[{"system":"urn:hfr","value":"IN0001"}]})"));
  const std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"urn:uuid:6f1e","resource":{"resourceType":"Patient","gender":"female",
      "managingOrganization":{"reference":"Organization?identifier=urn:hfr|IN0001"}},
     "request":{"method":"POST","url":"Patient"}},
    {"fullUrl":"urn:uuid:9a2b","resource":{"resourceType":"Observation","status":"final",
      "subject":{"reference":"urn:uuid:6f1e"},"code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]}},
     "request":{"method":"POST","url":"Observation"}},
    {"resource":{"resourceType":"Condition","subject":{"reference":"urn:uuid:6f1e"}},
     "request":{"method":"PUT","url":"Condition/chosen-1"}},
    {"resource":{"resourceType":"Organization","identifier":[{"system":"urn:hfr","value":"IN0001"}]},
     "request":{"method":"POST","url":"Organization","ifNoneExist":"identifier=urn:hfr|IN0001"}}
  ]})";
  auto outcome = service_->process_bundle(all_, bundle);
  ASSERT_TRUE(outcome) << outcome.error().message;
  ASSERT_TRUE(outcome->transaction);
  ASSERT_EQ(outcome->entries.size(), 4U);
  using Kind = BundleEntryOutcome::Kind;
  EXPECT_EQ(outcome->entries[0].kind, Kind::kCreated);
  EXPECT_EQ(outcome->entries[2].kind, Kind::kCreated);
  EXPECT_EQ(outcome->entries[2].resource->id, "chosen-1");
  EXPECT_EQ(outcome->entries[3].kind, Kind::kMatched);  // the organisation existed already
  const auto patient_id = outcome->entries[0].resource->id;
  const auto observation = service_->read(all_, "Observation", outcome->entries[1].resource->id);
  ASSERT_TRUE(observation);
  EXPECT_THAT(observation->json, ::testing::HasSubstr("\"Patient/" + patient_id + "\""));
  EXPECT_THAT(service_->read(all_, "Patient", patient_id)->json,
              ::testing::HasSubstr("\"Organization/"));
  // The resolved references index the records under the patient.
  auto found =
      service_->search(all_, {"Observation", {{"subject", "Patient/" + patient_id}}, 20, ""});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->resources.size(), 1U);
  EXPECT_EQ((**store_->read_current("Condition", "chosen-1")).partition, patient_id);
}

TEST_F(ResourceServiceTest, ATransactionIsLoggedAsOneEntryPerPatientNamingEveryRecordWritten) {
  auto other = service_->create(all_, "Patient", R"({"resourceType":"Patient"})");
  ASSERT_TRUE(other);
  const auto logged_before = audit_entries().size();
  std::string entries = R"({"fullUrl":"urn:uuid:p1","resource":{"resourceType":"Patient"},
      "request":{"method":"POST","url":"Patient"}})";
  for (int n = 0; n < 3; ++n) {
    entries += R"(,{"resource":{"resourceType":"Observation","status":"final","code":{"text":"BP"},
        "subject":{"reference":"urn:uuid:p1"}},"request":{"method":"POST","url":"Observation"}})";
  }
  entries += fmt::format(R"(,{{"resource":{{"resourceType":"Observation","status":"final",
      "code":{{"text":"BP"}},"subject":{{"reference":"Patient/{}"}}}},
      "request":{{"method":"POST","url":"Observation"}}}})",
                         other->id);
  auto outcome = service_->process_bundle(
      all_, R"({"resourceType":"Bundle","type":"transaction","entry":[)" + entries + "]}");
  ASSERT_TRUE(outcome) << outcome.error().message;
  const auto patient_id = outcome->entries[0].resource->id;

  const auto logged = audit_entries();
  ASSERT_EQ(logged.size(), logged_before + 2);  // one per patient, not one per record
  std::map<std::string, std::vector<std::string>> named_by_subject;
  for (std::size_t i = logged_before; i < logged.size(); ++i) {
    const auto& entry = logged[i].first;
    EXPECT_EQ(entry.action, audit::Action::kRecordCreate);
    std::vector<audit::TouchedRecord> named{
        {entry.resource_type, entry.resource_id, entry.resource_version, entry.content_hash}};
    named.insert(named.end(), entry.further_records.begin(), entry.further_records.end());
    for (const auto& record : named) {
      // Each names the exact sealed bytes written.
      const auto stored = **store_->read_current(record.type, record.id);
      const auto hash = audit::sha256(stored.payload);
      EXPECT_EQ(record.content_hash, std::vector<std::uint8_t>(hash.begin(), hash.end()));
      EXPECT_EQ(record.version, 1);
      EXPECT_EQ(stored.partition, entry.subject);
      named_by_subject[entry.subject].push_back(record.type + "/" + record.id);
    }
  }
  std::vector<std::string> expected_for_patient;
  for (std::size_t i = 0; i < 4; ++i) {
    expected_for_patient.push_back(outcome->entries[i].resource->type + "/" +
                                   outcome->entries[i].resource->id);
  }
  EXPECT_EQ(named_by_subject[patient_id], expected_for_patient);
  EXPECT_EQ(named_by_subject[other->id],
            std::vector<std::string>{"Observation/" + outcome->entries[4].resource->id});
}

TEST_F(ResourceServiceTest, AFailingTransactionWritesNothing) {
  const auto sequence_before = store_->changes_since(0, 1000)->size();
  for (const std::string& bundle :
       {std::string(R"({"resourceType":"Bundle","type":"transaction","entry":[
             {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
             {"resource":{"resourceType":"Observation","subject":{"reference":"urn:uuid:nowhere"}},
              "request":{"method":"POST","url":"Observation"}}]})"),
        std::string(R"({"resourceType":"Bundle","type":"transaction","entry":[
             {"resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient/twice"}},
             {"resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient/twice"}}]})"),
        std::string(R"({"resourceType":"Bundle","type":"transaction","entry":[
             {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
             {"resource":{"resourceType":"Patient","managingOrganization":{"reference":"Organization?identifier=none|0"}},
              "request":{"method":"POST","url":"Patient"}}]})"),
        std::string(R"({"resourceType":"Bundle","type":"transaction","entry":[
             {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
             {"request":{"method":"PATCH","url":"Patient/x"}}]})"),
        std::string(R"({"resourceType":"Bundle","type":"collection"})"),
        std::string(R"({"resourceType":"Patient"})")}) {
    EXPECT_FALSE(service_->process_bundle(all_, bundle)) << bundle;
  }
  EXPECT_EQ(store_->changes_since(0, 1000)->size(), sequence_before);
  // Scopes are checked for every entry before anything is written.
  EXPECT_EQ(service_
                ->process_bundle(caller("system/Patient.c"), R"({"resourceType":"Bundle",
      "type":"transaction","entry":[
        {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
        {"resource":{"resourceType":"Observation"},"request":{"method":"POST","url":"Observation"}}]})")
                .error()
                .code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(store_->changes_since(0, 1000)->size(), sequence_before);
}

TEST_F(ResourceServiceTest, ABatchReportsEachEntryOnItsOwn) {
  auto existing = service_->create(all_, "Patient", R"({"resourceType":"Patient"})");
  const std::string bundle = R"({"resourceType":"Bundle","type":"batch","entry":[
    {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
    {"request":{"method":"GET","url":"Patient/)" +
                             existing->id + R"("}},
    {"request":{"method":"GET","url":"Patient/missing"}},
    {"request":{"method":"DELETE","url":"Patient/)" +
                             existing->id + R"("}},
    {"request":{"method":"POST","url":"Spaceship"}}
  ]})";
  auto outcome = service_->process_bundle(all_, bundle);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_FALSE(outcome->transaction);
  using Kind = BundleEntryOutcome::Kind;
  ASSERT_EQ(outcome->entries.size(), 5U);
  EXPECT_EQ(outcome->entries[0].kind, Kind::kCreated);
  EXPECT_EQ(outcome->entries[1].kind, Kind::kRead);
  EXPECT_EQ(outcome->entries[2].kind, Kind::kFailed);
  EXPECT_EQ(outcome->entries[2].error->code, ErrorCode::kNotFound);
  EXPECT_EQ(outcome->entries[3].kind, Kind::kDeleted);
  EXPECT_EQ(outcome->entries[4].kind, Kind::kFailed);
  EXPECT_EQ(outcome->entries[4].error->code, ErrorCode::kInvalidArgument);
}

TEST_F(ResourceServiceTest, SearchMatchesEveryParameterAndPages) {
  for (
      const char* body :
      {R"({"resourceType":"Patient","name":[{"family":"Sharma","given":["Asha"]}],"gender":"female"})",
       R"({"resourceType":"Patient","name":[{"family":"Sharma","given":["Ravi"]}],"gender":"male"})",
       R"({"resourceType":"Patient","name":[{"family":"SHARMA","given":["Meena"]}],"gender":"female"})",
       R"({"resourceType":"Patient","name":[{"family":"Verma"}],"gender":"female"})"}) {
    ASSERT_TRUE(service_->create(all_, "Patient", body));
  }
  auto both =
      service_->search(all_, {"Patient", {{"family", "sharma"}, {"gender", "female"}}, 10, ""});
  ASSERT_TRUE(both);
  EXPECT_EQ(both->resources.size(), 2u);
  auto first = service_->search(all_, {"Patient", {{"family", "Sharma"}}, 2, ""});
  ASSERT_EQ(first->resources.size(), 2u);
  ASSERT_FALSE(first->next_after_id.empty());
  auto second =
      service_->search(all_, {"Patient", {{"family", "Sharma"}}, 2, first->next_after_id});
  ASSERT_EQ(second->resources.size(), 1u);
  EXPECT_TRUE(second->next_after_id.empty());
  EXPECT_EQ(service_->search(all_, {"Patient", {{"colour", "x"}}, 10, ""}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(service_->search(all_, SearchRequest{"Patient", {}, 10, ""})->resources.size(), 4u);
}

}  // namespace
}  // namespace kavach::fhir

namespace kavach::fhir {
namespace {

namespace json = boost::json;

// AuditEvents over a log with a checkpoint: every event that is checkpointed carries an inclusion
// proof that verifies against the checkpoint the Bundle carries.
class AuditEventServiceTest : public ResourceServiceTest {
 protected:
  void SetUp() override {
    ResourceServiceTest::SetUp();
    log_ = *audit::AuditLog::open(*store_, *audit::node_audit_signer(*keys_, ""), clock_);
    events_ = std::make_unique<AuditEventService>(*store_, *log_, clock_);
  }
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<AuditEventService> events_;
  auth::AccessToken auditor_ = caller("kavach/audit");
};

TEST_F(AuditEventServiceTest, ListsAPatientsAccessesWithProofsThatVerify) {
  auto patient = service_->create(all_, "Patient", R"({"resourceType":"Patient"})");
  auto other = service_->create(all_, "Patient", R"({"resourceType":"Patient"})");
  ASSERT_TRUE(service_->read(all_, "Patient", patient->id));
  ASSERT_TRUE(log_->checkpoint_now());
  ASSERT_TRUE(service_->read(all_, "Patient", patient->id));  // after the checkpoint: no proof yet

  auto page = events_->search(auditor_, {patient->id, -1, 50});
  ASSERT_TRUE(page) << page.error().message;
  const auto& entries = page->bundle.at("entry").as_array();
  ASSERT_EQ(entries.size(), 3U);
  const auto note =
      json::value_to<std::string>(page->bundle.at("meta").at("extension").at(0).at("valueString"));
  auto verifier = audit::NoteVerifier::parse(log_->verifier_key());
  auto checkpoint = audit::parse_checkpoint(*verifier->open(note));
  ASSERT_TRUE(checkpoint);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& event = entries[i].at("resource").as_object();
    EXPECT_EQ(event.at("resourceType"), "AuditEvent");
    EXPECT_EQ(event.at("entity").at(1).at("what").at("reference").as_string(),
              "Patient/" + patient->id);
    const auto& parts = event.at("extension").at(0).at("extension").as_array();
    const auto entry =
        *crypto::from_base64(json::value_to<std::string>(parts.at(0).at("valueBase64Binary")));
    const auto index = std::stoull(json::value_to<std::string>(parts.at(1).at("valueString")));
    std::vector<audit::ProofElement> proof;
    for (std::size_t p = 3; p < parts.size(); ++p) {
      proof.push_back(
          *crypto::from_base64(json::value_to<std::string>(parts.at(p).at("valueBase64Binary"))));
    }
    const auto leaf = audit::leaf_hash(entry);
    EXPECT_TRUE(audit::verify_inclusion(index, checkpoint->size, leaf, proof, checkpoint->root));
  }
  EXPECT_EQ(entries[0].at("resource").at("action"), "C");
  EXPECT_EQ(entries[1].at("resource").at("action"), "R");
  EXPECT_FALSE(entries[2].at("resource").as_object().contains("extension"));
  // The other patient's entries are not listed; the read of the log is itself logged.
  const auto about_patient = *store_->audit_entries_about(patient->id, -1, 100);
  EXPECT_EQ(audit::decode_entry(about_patient.back().entry)->action, audit::Action::kAuditRead);
  (void)other;
}

TEST_F(AuditEventServiceTest, PagesAndNeedsTheAuditorScope) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(service_->create(all_, "Patient", R"({"resourceType":"Patient"})"));
  auto first = events_->search(auditor_, {"", -1, 2});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->bundle.at("entry").as_array().size(), 2U);
  EXPECT_EQ(first->next_after, 1);
  auto second = events_->search(auditor_, {"", first->next_after, 2});
  EXPECT_EQ(second->bundle.at("entry").at(0).at("resource").at("id"), "2");
  auto refused = events_->search(all_, {"", -1, 10});  // system/*.cruds is not enough
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
}

// A resource service over a fresh SQLite store seen through `Watching`, a ForwardingStore that
// counts or interferes with what the service asks of the store.
// A pulse Observation of `patient`, the searches' test record.
std::string observation_of(const std::string& patient) {
  return R"({"resourceType":"Observation","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/)" +
         patient + R"("}})";
}

template <class Watching>
struct ServiceOverWatchedStore {
  testing::TempDir dir;
  crypto::KeyRing ring = *crypto::KeyRing::create(dir.path() / "k");
  ManualClock clock{TimePoint{std::chrono::seconds{1'700'000'000}}};
  Watching store{*store::open_store("sqlite:" + (dir.path() / "db").string())};
  vault::KeyVault keys{store, ring, clock};
  vault::RecordSealer sealer{keys};
  ResourceService service{store, sealer, clock};
  const auth::AccessToken all{"c-test", *auth::ScopeSet::parse("system/*.cruds"), 0};

  Result<StoredResource> new_patient() {
    return service.create(all, "Patient", R"({"resourceType":"Patient"})");
  }
  // The ids of `count` new pulse Observations of `patient`, in the order created.
  Result<std::vector<std::string>> new_pulses(const std::string& patient, int count) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      ASSIGN_OR_RETURN(const auto observation,
                       service.create(all, "Observation", observation_of(patient)));
      ids.push_back(observation.id);
    }
    return ids;
  }
  Result<SearchPage> search_subject(const std::string& patient, std::size_t count,
                                    std::string after = "") {
    return service.search(
        all, SearchRequest{"Observation", {{"subject", "Patient/" + patient}}, count, after});
  }
};

// Counts commits and the data keys they create. When armed, it lets another writer store the key
// a commit is about to create, just before that commit: the race KeysToCreate must survive.
class KeyRaceStore final : public store::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Result<store::CommitReceipt> commit(store::WriteBatch batch) override {
    ++commits;
    for (const auto& write : batch.keys) {
      if (write.kind != store::KeyWrite::Kind::kCreate) continue;
      ++keys_created;
      if (auto race = std::exchange(before_key_creation, nullptr)) race(write.key.name);
    }
    return ForwardingStore::commit(std::move(batch));
  }
  int commits = 0;
  int keys_created = 0;
  std::function<void(const std::string&)> before_key_creation;
};

// Watches searches read their candidate records: counts the records read and, when armed, runs
// a write just before the next read (the record changes between the index lookup and its read).
class CandidateReadsStore final : public store::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Result<std::vector<store::RecordVersion>> read_current_many(
      const std::string& type, std::span<const std::string> ids) override {
    if (auto write = std::exchange(before_read, nullptr)) write();
    records_read += ids.size();
    return ForwardingStore::read_current_many(type, ids);
  }
  std::size_t records_read = 0;
  std::function<void()> before_read;
};

TEST(ResourceServiceSearch, ARecordMovedAfterTheIndexLookupIsCheckedAgainNotReturned) {
  ServiceOverWatchedStore<CandidateReadsStore> node;
  auto& service = node.service;
  const auto& all = node.all;
  auto first = node.new_patient();
  auto second = node.new_patient();
  ASSERT_TRUE(first && second);
  auto created = node.new_pulses(first->id, 3);
  ASSERT_TRUE(created) << created.error().message;
  std::vector<std::string> ids = *created;
  std::sort(ids.begin(), ids.end());
  const auto matches = [&](const std::string& patient) {
    auto page = node.search_subject(patient, 20);
    EXPECT_TRUE(page) << page.error().message;
    std::vector<std::string> found;
    if (page) {
      for (const auto& resource : page->resources) found.push_back(resource.id);
    }
    std::sort(found.begin(), found.end());
    return found;
  };
  EXPECT_EQ(matches(first->id), ids);

  // The index still names the middle one under the first patient when the search reads it.
  bool moved = false;
  node.store.before_read = [&] {
    moved = service.update(all, "Observation", ids[1], observation_of(second->id), std::nullopt)
                .has_value();
  };
  EXPECT_EQ(matches(first->id), (std::vector<std::string>{ids[0], ids[2]}));
  EXPECT_TRUE(moved);
  EXPECT_EQ(matches(second->id), std::vector<std::string>{ids[1]});
}

TEST(ResourceServiceSearch, APageReadsItsMatchesAndOneMoreNotAWholeReadsWorth) {
  ServiceOverWatchedStore<CandidateReadsStore> node;
  auto& store = node.store;
  auto patient = node.new_patient();
  ASSERT_TRUE(patient) << patient.error().message;
  auto pulses = node.new_pulses(patient->id, 40);
  ASSERT_TRUE(pulses) << pulses.error().message;
  const std::set<std::string> created(pulses->begin(), pulses->end());

  // Pages of 5: each reads its 5 matches and the one that says a next page exists.
  std::set<std::string> seen;
  std::string after;
  int pages = 0;
  do {
    store.records_read = 0;
    auto page = node.search_subject(patient->id, 5, after);
    ASSERT_TRUE(page) << page.error().message;
    ASSERT_EQ(page->resources.size(), 5U);
    EXPECT_LE(store.records_read, 6U);
    for (const auto& resource : page->resources) EXPECT_TRUE(seen.insert(resource.id).second);
    after = page->next_after_id;
    ++pages;
  } while (!after.empty() && pages < 10);
  EXPECT_EQ(pages, 8);
  EXPECT_EQ(seen, created) << "paging still returns every match once";
}

// Counts the reads a request makes outside a ReadScope, and the scopes it holds.
class ReadScopesStore final : public store::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  store::ReadScope hold_reads() override {
    ++scopes_held;
    return store::ReadScope(std::make_unique<Open>(*this, ForwardingStore::hold_reads()));
  }
  Result<std::optional<store::RecordVersion>> read_current(const std::string& type,
                                                           const std::string& id) override {
    count_read();
    return ForwardingStore::read_current(type, id);
  }
  Result<std::vector<store::RecordVersion>> read_current_many(
      const std::string& type, std::span<const std::string> ids) override {
    count_read();
    return ForwardingStore::read_current_many(type, ids);
  }
  Result<store::IndexMatches> find_any(const std::string& type, const std::string& name,
                                       const std::vector<store::Bytes>& values,
                                       const std::string& after_id, std::size_t limit) override {
    count_read();
    return ForwardingStore::find_any(type, name, values, after_id, limit);
  }
  Result<std::optional<store::WrappedKey>> read_key(const std::string& name) override {
    count_read();
    return ForwardingStore::read_key(name);
  }
  Result<std::optional<store::RecordVersion>> read_version(const std::string& type,
                                                           const std::string& id,
                                                           std::int64_t version) override {
    count_read();
    return ForwardingStore::read_version(type, id, version);
  }
  Result<std::vector<store::RecordVersion>> history(const std::string& type, const std::string& id,
                                                    std::size_t limit) override {
    count_read();
    return ForwardingStore::history(type, id, limit);
  }
  Result<std::vector<store::RecordVersion>> partition_records(const std::string& partition,
                                                              const std::string& after_type,
                                                              const std::string& after_id,
                                                              std::size_t limit) override {
    count_read();
    return ForwardingStore::partition_records(partition, after_type, after_id, limit);
  }
  int scopes_held = 0;
  int reads_outside = 0;
  int reads_inside = 0;

 private:
  class Open final : public store::ReadScope::Holder {
   public:
    Open(ReadScopesStore& store, store::ReadScope inner) : store_(store), inner_(std::move(inner)) {
      ++store_.open_;
    }
    ~Open() override { --store_.open_; }

   private:
    ReadScopesStore& store_;
    store::ReadScope inner_;
  };
  void count_read() { ++(open_ > 0 ? reads_inside : reads_outside); }
  int open_ = 0;
};

// A search, a read, a vread, a history and an $everything make their store reads in one ReadScope
// (one SQLite read transaction), and still find what they should.
TEST(ResourceServiceSearch, ASearchAndAReadHoldTheirReadsInOneScope) {
  ServiceOverWatchedStore<ReadScopesStore> node;
  auto& store = node.store;
  auto& service = node.service;
  const auto& all = node.all;
  auto patient = node.new_patient();
  ASSERT_TRUE(patient) << patient.error().message;
  auto pulses = node.new_pulses(patient->id, 3);
  ASSERT_TRUE(pulses) << pulses.error().message;
  store.scopes_held = store.reads_outside = store.reads_inside = 0;
  auto page = node.search_subject(patient->id, 20);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->resources.size(), 3U);
  EXPECT_EQ(store.scopes_held, 1);
  EXPECT_EQ(store.reads_outside, 0);
  EXPECT_GE(store.reads_inside, 3);  // the index, the patient's key, the records

  store.scopes_held = store.reads_outside = store.reads_inside = 0;
  ASSERT_TRUE(service.read(all, "Patient", patient->id));
  EXPECT_EQ(store.scopes_held, 1);
  EXPECT_EQ(store.reads_outside, 0);
  EXPECT_EQ(store.reads_inside, 2);  // the record, its key

  store.scopes_held = store.reads_outside = store.reads_inside = 0;
  ASSERT_TRUE(service.vread(all, "Patient", patient->id, 1));
  EXPECT_EQ(store.scopes_held, 1);
  EXPECT_EQ(store.reads_outside, 0);
  EXPECT_EQ(store.reads_inside, 2);  // the version, its key

  store.scopes_held = store.reads_outside = store.reads_inside = 0;
  auto versions = service.history(all, "Patient", patient->id, 10);
  ASSERT_TRUE(versions) << versions.error().message;
  EXPECT_EQ(versions->size(), 1U);
  EXPECT_EQ(store.scopes_held, 1);
  EXPECT_EQ(store.reads_outside, 0);
  EXPECT_EQ(store.reads_inside, 2);  // the versions, their key

  store.scopes_held = store.reads_outside = store.reads_inside = 0;
  auto everything = service.everything(all, patient->id, "", 100);
  ASSERT_TRUE(everything) << everything.error().message;
  EXPECT_EQ(everything->resources.size(), 4U);  // the patient and the three pulses
  EXPECT_EQ(store.scopes_held, 1);
  EXPECT_EQ(store.reads_outside, 0);
  EXPECT_GE(store.reads_inside, 3);  // the patient, their records, their key
}

TEST(ResourceIds, SortInCreationOrderAndStayUnguessable) {
  std::set<std::string> ids;
  const std::int64_t start_ms = 1'700'000'000'000;
  for (int i = 0; i < 200; ++i) {
    const auto id = new_resource_id(start_ms + i);
    ASSERT_EQ(id.size(), 32U);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    EXPECT_EQ(id.substr(0, 12), fmt::format("{:012x}", start_ms + i));
    EXPECT_LT(id, new_resource_id(start_ms + i + 1))
        << "an id made a millisecond later sorts after";
    EXPECT_TRUE(ids.insert(id.substr(12)).second) << "the random part repeats: " << id;
    // Within one millisecond the random part decides: as unguessable as ever, in no order.
    EXPECT_NE(new_resource_id(start_ms + i).substr(12), id.substr(12));
  }
}

TEST(ResourceServiceKeys, AFirstWriteIsOneCommitAndALostKeyRaceIsPreparedAgain) {
  ServiceOverWatchedStore<KeyRaceStore> node;
  auto& store = node.store;
  auto& keys = node.keys;
  auto& service = node.service;
  const auto& all = node.all;
  ASSERT_TRUE(keys.node_key(vault::kNodeBlindIndexKey));

  // A new patient: the record, its audit entry and its data key in one commit.
  int commits = store.commits;
  auto patient = service.create(all, "Patient", R"({"resourceType":"Patient","gender":"female"})");
  ASSERT_TRUE(patient) << patient.error().message;
  EXPECT_EQ(store.commits - commits, 1);
  EXPECT_EQ(store.keys_created, 1);

  // A transaction for another new patient: one key for all its entries, one commit.
  commits = store.commits;
  const std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","gender":"male"},
     "request":{"method":"POST","url":"Patient"}},
    {"resource":{"resourceType":"Observation","status":"final","subject":{"reference":"urn:uuid:1"},
      "code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]}},
     "request":{"method":"POST","url":"Observation"}},
    {"resource":{"resourceType":"Condition","subject":{"reference":"urn:uuid:1"}},
     "request":{"method":"POST","url":"Condition"}}]})";
  auto outcome = service.process_bundle(all, bundle);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(store.commits - commits, 1);
  EXPECT_EQ(store.keys_created, 2);
  EXPECT_TRUE(service.read(all, "Observation", outcome->entries[1].resource->id));

  // Another writer stores the new patient's key between this write's sealing and its commit:
  // the commit is refused whole, and the write is sealed again under the stored key.
  bool raced = false;
  store.before_key_creation = [&](const std::string& name) { raced = keys.key(name).has_value(); };
  auto raced_patient =
      service.create(all, "Patient", R"({"resourceType":"Patient","gender":"other"})");
  ASSERT_TRUE(raced_patient) << raced_patient.error().message;
  EXPECT_TRUE(raced);
  EXPECT_THAT(service.read(all, "Patient", raced_patient->id)->json, ::testing::HasSubstr("other"));

  store.before_key_creation = [&](const std::string& name) { raced = keys.key(name).has_value(); };
  raced = false;
  auto raced_bundle = service.process_bundle(all, bundle);
  ASSERT_TRUE(raced_bundle) << raced_bundle.error().message;
  EXPECT_TRUE(raced);
  EXPECT_THAT(service.read(all, "Observation", raced_bundle->entries[1].resource->id)->json,
              ::testing::HasSubstr("4548-4"));
}

}  // namespace
}  // namespace kavach::fhir
