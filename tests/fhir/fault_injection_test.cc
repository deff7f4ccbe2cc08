// Issue 7: fail the Nth storage call, for N = 1, 2, ... across a workload of creates, updates, a
// transaction, reads, searches and a delete, and check the invariants after each: every write
// that was acknowledged is there exactly, nothing half-written is visible (every stored version
// opens and has its audit entry; a transaction is all or nothing), and the index agrees with the
// records. The workload must see clean errors, never a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_entry.h"
#include "common/query_string.h"
#include "crypto/key_ring.h"
#include "fhir/resource_service.h"
#include "fhir/search_query.h"
#include "store/store_factory.h"
#include "support/fault_injecting_store.h"
#include "support/temp_dir.h"
#include "vault/key_vault.h"
#include "vault/record_sealer.h"

namespace kavach::fhir {
namespace {

using testing::FaultInjectingStore;

struct Acknowledged {
  std::int64_t version = 0;
  bool deleted = false;
  std::string marker;  // a value only this version holds
};
using Ledger = std::map<std::pair<std::string, std::string>, Acknowledged>;

std::string family(const std::string& json) {
  const auto value = boost::json::parse(json);
  return std::string(value.at("name").at(0).at("family").as_string());
}

class FaultInjectionTest : public ::testing::TestWithParam<FaultInjectingStore::Mode> {
 protected:
  // Runs the workload against a fresh store failing at call `fail_at`; returns whether the fault
  // fired, and checks the invariants.
  bool run_once(std::int64_t fail_at) {
    testing::TempDir dir;
    const auto ring = *crypto::KeyRing::create(dir.path() / "k");
    ManualClock clock{TimePoint{std::chrono::seconds{1'800'000'000}}};
    auto faulty = std::make_unique<FaultInjectingStore>(
        *store::open_store("sqlite:" + (dir.path() / "db").string()), fail_at, GetParam());
    FaultInjectingStore* fault = faulty.get();
    std::unique_ptr<store::Store> store = std::move(faulty);
    Ledger ledger;
    {
      vault::KeyVault keys(*store, ring, clock);
      vault::RecordSealer sealer(keys);
      ResourceService service(*store, sealer, clock);
      workload(service, ledger);
    }
    const bool fired = fault->fired();
    fault->disarm();
    check_invariants(*store, ring, clock, ledger, fail_at);
    return fired;
  }

  void workload(ResourceService& service, Ledger& ledger) {
    const auth::AccessToken caller{"c-fault", *auth::ScopeSet::parse("system/*.cruds"), 0};
    auto note = [&](const Result<StoredResource>& result, std::string marker) {
      if (result) ledger[{result->type, result->id}] = {result->version, result->deleted, marker};
    };
    auto patient = service.create(caller, "Patient",
                                  R"({"resourceType":"Patient","name":[{"family":"FaultA1"}]})");
    note(patient, "FaultA1");
    if (patient) {
      auto observation = service.create(
          caller, "Observation",
          fmt::format(
              R"({{"resourceType":"Observation","status":"final","code":{{"text":"x"}},"subject":{{"reference":"Patient/{}"}}}})",
              patient->id));
      note(observation, "");
      auto updated = service.update(
          caller, "Patient", patient->id,
          fmt::format(R"({{"resourceType":"Patient","id":"{}","name":[{{"family":"FaultA2"}}]}})",
                      patient->id),
          patient->version);
      note(updated, "FaultA2");
      (void)service.read(caller, "Patient", patient->id);
      (void)service.search(caller, *parse_search_query("Patient", parse_query("family=FaultA")));
      if (observation) {
        auto removed = service.remove(caller, "Observation", observation->id);
        if (removed) ledger[{"Observation", observation->id}] = {removed->version, true, ""};
      }
    }
    const auto bundle = service.process_bundle(caller, R"({
      "resourceType":"Bundle","type":"transaction","entry":[
        {"fullUrl":"urn:uuid:0a3a5e44-1111-4b6c-9d1e-5f0d7c3b2a10",
         "resource":{"resourceType":"Patient","name":[{"family":"FaultB1"}]},
         "request":{"method":"POST","url":"Patient"}},
        {"resource":{"resourceType":"Observation","status":"final","code":{"text":"y"},
           "subject":{"reference":"urn:uuid:0a3a5e44-1111-4b6c-9d1e-5f0d7c3b2a10"}},
         "request":{"method":"POST","url":"Observation"}}]})");
    bundle_acknowledged_ = bundle.has_value();
  }

  void check_invariants(store::Store& store, const crypto::KeyRing& ring, const Clock& clock,
                        const Ledger& ledger, std::int64_t fail_at) {
    SCOPED_TRACE(fmt::format("storage call {} failed", fail_at));
    // The inner store, with no fault: what a restarted node would see.
    vault::KeyVault keys(store, ring, clock);
    vault::RecordSealer sealer(keys);
    const auto versions = *store.changes_since(0, 1000);
    // Every stored version opens, and its write has an audit entry of the same version (naming it
    // first or among its further records).
    std::map<std::tuple<std::string, std::string, std::int64_t>, int> audited;
    const auto entries = *store.read_audit_entries(0, 1000);
    for (const auto& stored : entries) {
      const auto entry = audit::decode_entry(stored.entry);
      ASSERT_TRUE(entry) << entry.error().message;
      ++audited[{entry->resource_type, entry->resource_id, entry->resource_version}];
      for (const auto& record : entry->further_records) {
        ++audited[{record.type, record.id, record.version}];
      }
    }
    std::map<std::pair<std::string, std::string>, std::int64_t> current;
    std::size_t patients_b = 0;
    std::size_t observations_from_bundle = 0;
    for (const auto& version : versions) {
      if (!version.deleted) {
        const auto opened = sealer.open(version);
        EXPECT_TRUE(opened) << version.type << "/" << version.id << " v" << version.version << ": "
                            << (opened ? "" : opened.error().message);
      }
      EXPECT_TRUE(audited.contains({version.type, version.id, version.version}))
          << "no audit entry for " << version.type << "/" << version.id << " v" << version.version;
      current[{version.type, version.id}] = version.version;
      if (version.type == "Patient" && version.version == 1 && !version.deleted &&
          family(*sealer.open(version)) == "FaultB1") {
        ++patients_b;
      }
      if (version.type == "Observation" && !version.deleted &&
          sealer.open(version)->find(R"("text":"y")") != std::string::npos) {
        ++observations_from_bundle;
      }
    }
    // A transaction is all or nothing.
    EXPECT_EQ(patients_b, observations_from_bundle);
    if (bundle_acknowledged_) {
      EXPECT_EQ(patients_b, 1U);
    }
    // Every acknowledged write is there: exactly its version when a failed call never reached the
    // store; that version or a later one when a failed commit may still have been applied.
    for (const auto& [key, acknowledged] : ledger) {
      const auto stored = *store.read_current(key.first, key.second);
      ASSERT_TRUE(stored) << key.first << "/" << key.second;
      if (GetParam() == FaultInjectingStore::Mode::kBeforeCall) {
        EXPECT_EQ(stored->version, acknowledged.version);
        EXPECT_EQ(stored->deleted, acknowledged.deleted);
        if (!acknowledged.marker.empty()) {
          EXPECT_EQ(family(*sealer.open(*stored)), acknowledged.marker);
        }
      } else {
        EXPECT_GE(stored->version, acknowledged.version);
      }
    }
    // The index agrees with the records: a search by family finds exactly the live patients with
    // a name starting so.
    ResourceService service(store, sealer, clock);
    const auth::AccessToken caller{"c-check", *auth::ScopeSet::parse("system/*.rs"), 0};
    const auto found =
        service.search(caller, *parse_search_query("Patient", parse_query("family=Fault")));
    ASSERT_TRUE(found) << found.error().message;
    std::size_t live_patients = 0;
    for (const auto& [key, version] : current) {
      if (key.first == "Patient" && !store.read_current(key.first, key.second)->value().deleted) {
        ++live_patients;
      }
    }
    EXPECT_EQ(found->matches.size(), live_patients);
  }

  bool bundle_acknowledged_ = false;
};

TEST_P(FaultInjectionTest, EveryStorageCallFailingInTurnLeavesTheStoreConsistent) {
  std::int64_t fail_at = 1;
  for (; fail_at < 400; ++fail_at) {
    if (!run_once(fail_at)) break;  // the workload finished before the fault: every call covered
    if (HasFatalFailure()) return;
  }
  RecordProperty("storage_calls", static_cast<int>(fail_at - 1));
  EXPECT_GT(fail_at, 20) << "the workload made suspiciously few storage calls";
  EXPECT_LT(fail_at, 400) << "the workload never finished";
}

INSTANTIATE_TEST_SUITE_P(Modes, FaultInjectionTest,
                         ::testing::Values(FaultInjectingStore::Mode::kBeforeCall,
                                           FaultInjectingStore::Mode::kAfterCommit),
                         [](const auto& param_info) {
                           return param_info.param == FaultInjectingStore::Mode::kBeforeCall
                                      ? std::string("FailBeforeCall")
                                      : std::string("FailAfterCommit");
                         });

}  // namespace
}  // namespace kavach::fhir
