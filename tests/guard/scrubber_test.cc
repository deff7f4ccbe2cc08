#include "guard/scrubber.h"

#include <gmock/gmock.h>

#include <fmt/format.h>

#include "guard_fixture.h"

namespace kavach::guard {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class ScrubberTest : public GuardFixture {
 protected:
  void write_record(const std::string& patient, const std::string& id) {
    store::RecordVersion record{patient, "Observation", id, 1, 0, 1, false, {}, {}};
    ASSERT_TRUE(sealer_->seal(record, R"({"resourceType":"Observation"})"));
    store::WriteBatch batch;
    batch.records.push_back(store::RecordWrite{record, store::kNoVersion, {}});
    ASSERT_TRUE(store_->commit(std::move(batch)));
  }
  void tamper(const std::string& sql) {
    const auto command =
        fmt::format("sqlite3 '{}' \"{}\" 2>&1", (dir_.path() / "store.db").string(), sql);
    ASSERT_EQ(std::system(command.c_str()), 0) << sql;
  }
};

TEST_F(ScrubberTest, AnIntactStoreScrubsCleanInSlicesAndWrapsAround) {
  for (int n = 0; n < 25; ++n) write_record(fmt::format("p{}", n % 3), fmt::format("o{}", n));
  Scrubber scrubber(*store_, *sealer_, *alerts_);
  const auto first = *scrubber.step(10);
  EXPECT_EQ(first.opened, 10U);
  EXPECT_FALSE(first.wrapped);
  EXPECT_EQ(scrubber.step(10)->opened, 10U);
  const auto last = *scrubber.step(10);
  EXPECT_EQ(last.opened, 5U);
  EXPECT_TRUE(last.wrapped);
  EXPECT_EQ(scrubber.step(10)->opened, 10U);  // a new pass
  EXPECT_THAT(notifier_.alerts, IsEmpty());
}

TEST_F(ScrubberTest, ARecordChangedBeneathKavachRaisesAnAlertAndErasedPatientsAreSkipped) {
  write_record("p1", "o1");
  write_record("p2", "o2");
  write_record("p3", "o3");
  ASSERT_TRUE(keys_->erase("patient/p3"));
  // Someone with the database file but not the keys flips the payload of o2 (past the trigger).
  tamper(
      "DROP TRIGGER records_are_append_only_update; "
      "UPDATE records SET payload = randomblob(length(payload)) WHERE id = 'o2'");
  Scrubber scrubber(*store_, *sealer_, *alerts_);
  const auto report = *scrubber.step(100);
  EXPECT_GE(report.opened, 1U);  // o1, and the alert's own document once it is stored
  EXPECT_EQ(report.erased, 1U);
  EXPECT_EQ(report.failed, 1U);
  ASSERT_EQ(notifier_.alerts.size(), 1U);
  EXPECT_EQ(notifier_.alerts[0].rule, Rule::kScrub);
  EXPECT_THAT(notifier_.alerts[0].detail, HasSubstr("Observation/o2 version 1"));
  EXPECT_FALSE(notifier_.alerts[0].locked);
}

// The digest beside a payload is what the audit log names for every read: changed alone, it
// would make the log name other content than was served, so the scrub finds it too.
TEST_F(ScrubberTest, ADigestChangedBeneathKavachRaisesAnAlertThoughThePayloadStillOpens) {
  write_record("p1", "o1");
  write_record("p2", "o2");
  tamper(
      "DROP TRIGGER records_are_append_only_update; "
      "UPDATE records SET payload_sha256 = randomblob(32) WHERE id = 'o1'");
  Scrubber scrubber(*store_, *sealer_, *alerts_);
  const auto report = *scrubber.step(100);
  EXPECT_EQ(report.failed, 1U);
  ASSERT_EQ(notifier_.alerts.size(), 1U);
  EXPECT_THAT(notifier_.alerts[0].detail, HasSubstr("Observation/o1 version 1"));
  EXPECT_THAT(notifier_.alerts[0].detail, HasSubstr("digest"));
}

}  // namespace
}  // namespace kavach::guard
