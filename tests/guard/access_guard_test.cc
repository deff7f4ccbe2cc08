// Each rule of the anomaly guard: a test that triggers it, and one showing that normal clinical
// use does not.
#include "guard/access_guard.h"

#include <gmock/gmock.h>

#include <fmt/format.h>

#include "audit/audit_log.h"
#include "crypto/encoding.h"
#include "guard_fixture.h"

namespace kavach::guard {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class AccessGuardTest : public GuardFixture {
 protected:
  AccessGuard make_guard(GuardPolicy policy = {}) { return AccessGuard(policy, *alerts_, clock_); }

  static audit::AuditEntry access(audit::Action action, std::string actor, std::string patient) {
    audit::AuditEntry entry;
    entry.action = action;
    entry.actor_kind = audit::ActorKind::kClient;
    entry.actor_id = std::move(actor);
    entry.subject = std::move(patient);
    entry.resource_type = "Observation";
    return entry;
  }

  // A realistic Observation, as JSON text, of about 600 bytes.
  static std::string observation(int n) {
    return fmt::format(
        R"({{"resourceType":"Observation","id":"obs-{0}","meta":{{"versionId":"2","lastUpdated":"2026-11-29T10:00:00.000Z"}},"status":"final","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}}]}}],"code":{{"coding":[{{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}}]}},"subject":{{"reference":"Patient/p{0}"}},"effectiveDateTime":"2026-11-29T09:30:00+05:30","valueQuantity":{{"value":{1},"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"}},"note":[{{"text":"Patient resting, no distress. Repeat reading after 15 minutes was similar."}}]}})",
        n, 60 + n % 40);
  }

  // The same record with its note replaced by what ransomware writes: base64 of random bytes.
  static std::string encrypted(int n) {
    const auto noise = crypto::SecretBytes::random(600);
    return fmt::format(
        R"({{"resourceType":"Observation","id":"obs-{}","status":"final","note":[{{"text":"{}"}}]}})",
        n, crypto::to_base64(noise.view()));
  }

  bool locked(std::string_view principal) { return alerts_->is_locked(principal); }
};

TEST_F(AccessGuardTest, ReadingManyMorePatientsThanCareNeedsLocksTheClient) {
  GuardPolicy policy;
  policy.patients_read_per_hour = 50;
  auto guard = make_guard(policy);
  for (int p = 0; p < 50; ++p) {
    guard.observe(access(audit::Action::kRecordRead, "scraper", fmt::format("p{}", p)));
  }
  EXPECT_FALSE(locked("scraper"));
  guard.observe(access(audit::Action::kRecordSearch, "scraper", "p50"));
  EXPECT_TRUE(locked("scraper"));
  EXPECT_EQ(guard.check_principal("scraper").error().code, ErrorCode::kPermissionDenied);
  ASSERT_EQ(notifier_.alerts.size(), 1U);
  EXPECT_EQ(notifier_.alerts[0].rule, Rule::kReadBudget);
  EXPECT_THAT(notifier_.alerts[0].detail, HasSubstr("51 distinct patients"));
  // Stored: listed after a restart, and the lock with it.
  AlertBook reopened(*documents_, clock_);
  ASSERT_TRUE(reopened.refresh());
  EXPECT_TRUE(reopened.is_locked("scraper"));
  EXPECT_EQ(reopened.alerts(10)->size(), 1U);
  EXPECT_EQ(reopened.locks()->front().principal, "scraper");
  EXPECT_THAT(metrics_.render(), HasSubstr("kavach_guard_locked_principals 1"));
  // Released by an administrator: allowed again, and the release is audited.
  ASSERT_TRUE(alerts_->release("scraper", "os:admin"));
  EXPECT_TRUE(guard.check_principal("scraper"));
  EXPECT_THAT(*alerts_->locks(), IsEmpty());
  EXPECT_EQ(alerts_->release("scraper", "os:admin").error().code, ErrorCode::kNotFound);
  const auto audit_entries = *store_->read_audit_entries(0, 100);
  ASSERT_EQ(audit_entries.size(), 2U);
  EXPECT_EQ(audit::decode_entry(audit_entries[0].entry)->action, audit::Action::kPrincipalLock);
  EXPECT_EQ(audit::decode_entry(audit_entries[1].entry)->action, audit::Action::kPrincipalRelease);
  EXPECT_EQ(audit::decode_entry(audit_entries[1].entry)->actor_id, "os:admin");
}

TEST_F(AccessGuardTest, ABusyDayOfClinicalReadsAlertsNothing) {
  auto guard = make_guard();  // the default budgets
  // A doctor sees 120 patients in a day, reading each one's records a dozen times; an HMIS client
  // creates thousands of records and corrects a few hundred.
  for (int hour = 0; hour < 8; ++hour) {
    for (int p = 0; p < 15; ++p) {
      for (int read = 0; read < 12; ++read) {
        guard.observe(
            access(audit::Action::kRecordRead, "dr-rao", fmt::format("p{}", hour * 15 + p)));
      }
    }
    clock_.advance(std::chrono::hours(1));
  }
  for (int n = 0; n < 5000; ++n) {
    guard.observe(access(audit::Action::kRecordCreate, "hmis", fmt::format("p{}", n % 900)));
  }
  for (int n = 0; n < 300; ++n) {
    guard.observe(access(audit::Action::kRecordUpdate, "hmis", fmt::format("p{}", n)));
    EXPECT_TRUE(guard.inspect_rewrite("hmis", "Observation", observation(n)));
  }
  EXPECT_THAT(notifier_.alerts, IsEmpty());
  EXPECT_FALSE(locked("dr-rao"));
  EXPECT_FALSE(locked("hmis"));
}

TEST_F(AccessGuardTest, BulkRewritesLockTheClient) {
  GuardPolicy policy;
  policy.rewrites_per_ten_minutes = 100;
  auto guard = make_guard(policy);
  for (int n = 0; n < 100; ++n) {
    guard.observe(access(n % 2 ? audit::Action::kRecordUpdate : audit::Action::kRecordDelete,
                         "hmis", fmt::format("p{}", n)));
  }
  EXPECT_FALSE(locked("hmis"));
  clock_.advance(std::chrono::minutes(11));  // a new window: the count starts again
  for (int n = 0; n < 101; ++n) {
    guard.observe(access(audit::Action::kRecordUpdate, "hmis", fmt::format("p{}", n)));
  }
  EXPECT_TRUE(locked("hmis"));
  EXPECT_EQ(notifier_.alerts.back().rule, Rule::kRewriteBudget);
}

// A transaction's writes of one patient are logged as one entry naming every record.
TEST_F(AccessGuardTest, RewritesCountEveryRecordAnEntryNames) {
  GuardPolicy policy;
  policy.rewrites_per_ten_minutes = 100;
  auto guard = make_guard(policy);
  auto transaction = access(audit::Action::kRecordUpdate, "hmis", "p1");
  transaction.resource_id = "o0";
  transaction.resource_version = 2;
  for (int n = 1; n < 100; ++n) {
    transaction.further_records.push_back({"Observation", fmt::format("o{}", n), 2, {}});
  }
  guard.observe(transaction);  // 100 records
  EXPECT_FALSE(locked("hmis"));
  guard.observe(access(audit::Action::kRecordDelete, "hmis", "p2"));
  EXPECT_TRUE(locked("hmis"));
  EXPECT_EQ(notifier_.alerts.back().rule, Rule::kRewriteBudget);
}

TEST_F(AccessGuardTest, ExportsBeyondTheBudgetLockTheClientAndWithinItDoNot) {
  GuardPolicy policy;
  policy.exported_records_per_hour = 1000;
  auto guard = make_guard(policy);
  for (int n = 0; n < 1000; ++n) {
    guard.observe(access(audit::Action::kRecordExport, "registry", fmt::format("p{}", n)));
  }
  EXPECT_FALSE(locked("registry"));
  guard.observe(access(audit::Action::kRecordExport, "registry", "p1"));
  EXPECT_TRUE(locked("registry"));
  EXPECT_EQ(notifier_.alerts.back().rule, Rule::kExportBudget);
}

TEST_F(AccessGuardTest, AnExportEntryListingManyRecordsCountsEachOfThem) {
  GuardPolicy policy;
  policy.exported_records_per_hour = 1000;
  auto guard = make_guard(policy);
  // One patient's records in one file: one entry naming the first, listing the other 19.
  const auto file_of_twenty = [&](int patient) {
    auto entry = access(audit::Action::kRecordExport, "registry", fmt::format("p{}", patient));
    entry.resource_type = "Observation";
    entry.resource_id = "o0";
    entry.resource_version = 1;
    for (int n = 1; n < 20; ++n) {
      entry.further_records.push_back({"Observation", fmt::format("o{}", n), 1, {}});
    }
    return entry;
  };
  for (int patient = 0; patient < 50; ++patient) guard.observe(file_of_twenty(patient));
  EXPECT_FALSE(locked("registry"));  // exactly 1,000 records
  guard.observe(file_of_twenty(50));
  EXPECT_TRUE(locked("registry"));
}

TEST_F(AccessGuardTest, RewritingRecordsWithCiphertextIsRefusedAndLocked) {
  auto guard = make_guard();  // 5 such rewrites in ten minutes are allowed
  EXPECT_LT(entropy_bits_per_byte(observation(1)), 5.3);
  EXPECT_GT(entropy_bits_per_byte(encrypted(1)), 5.7);
  for (int n = 0; n < 5; ++n)
    EXPECT_TRUE(guard.inspect_rewrite("hmis", "Observation", encrypted(n)));
  const auto refused = guard.inspect_rewrite("hmis", "Observation", encrypted(5));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(locked("hmis"));
  EXPECT_EQ(notifier_.alerts.back().rule, Rule::kRandomRewrite);
  // Files (Binary) are compressed and look random by nature: never judged.
  auto other = make_guard();
  for (int n = 0; n < 20; ++n) EXPECT_TRUE(other.inspect_rewrite("pacs", "Binary", encrypted(n)));
  EXPECT_FALSE(locked("pacs"));
}

TEST_F(AccessGuardTest, EveryAccessToACanaryPatientAlerts) {
  GuardPolicy policy;
  policy.canary_patients = {"canary-1"};
  auto guard = make_guard(policy);
  guard.observe(access(audit::Action::kRecordRead, "dr-rao", "p1"));
  EXPECT_THAT(notifier_.alerts, IsEmpty());
  guard.observe(access(audit::Action::kRecordSearch, "curious", "canary-1"));
  ASSERT_EQ(notifier_.alerts.size(), 1U);
  EXPECT_EQ(notifier_.alerts[0].rule, Rule::kCanary);
  EXPECT_EQ(notifier_.alerts[0].subject, "canary-1");
  EXPECT_TRUE(locked("curious"));
  guard.observe(access(audit::Action::kRecordRead, "other", "canary-1"));
  EXPECT_EQ(notifier_.alerts.size(), 2U);
}

TEST_F(AccessGuardTest, TheWatchedStoreShowsEveryCommittedAuditEntryAndNothingUncommitted) {
  auto watched = std::make_unique<WatchedStore>(
      *store::open_store("sqlite:" + (dir_.path() / "watched.db").string()));
  std::vector<audit::EntryFacts> seen;
  watched->set_observer([&](const audit::EntryFacts& entry) { seen.push_back(entry); });
  store::WriteBatch batch;
  ASSERT_TRUE(audit::append_entry(batch, access(audit::Action::kRecordRead, "c", "p")));
  ASSERT_TRUE(watched->commit(std::move(batch)));
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0], audit::facts_of(access(audit::Action::kRecordRead, "c", "p")));
  EXPECT_EQ(seen[0].actor_id, "c");
  // A refused batch (a stale version) shows nothing.
  store::WriteBatch stale;
  store::RecordWrite write;
  write.record = store::RecordVersion{"", "Observation", "o", 2, 0, 1, false, {1}, {}};
  write.expected_version = 1;
  stale.records.push_back(write);
  ASSERT_TRUE(audit::append_entry(stale, access(audit::Action::kRecordUpdate, "c", "p")));
  EXPECT_FALSE(watched->commit(std::move(stale)));
  EXPECT_EQ(seen.size(), 1U);
}

}  // namespace
}  // namespace kavach::guard
