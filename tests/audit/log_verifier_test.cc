#include "audit/log_verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "audit_log_fixture.h"
#include "crypto/encoding.h"

namespace kavach::audit {
namespace {

using ::testing::HasSubstr;

// A log of 600 entries (two full leaf tiles and a partial one), checkpointed; then tampered with.
class LogVerifierTest : public AuditLogFixture {
 protected:
  void SetUp() override {
    AuditLogFixture::SetUp();
    auto log = *open_log();
    append(0, 600);
    ASSERT_TRUE(log->checkpoint_now());
    verifier_key_ = log->verifier_key();
  }
  VerifyReport verify(const VerifyOptions& options = {}) {
    open_store();
    auto verifier = NoteVerifier::parse(verifier_key_);
    EXPECT_TRUE(verifier);
    auto report = verify_log(*store_, *verifier, options);
    EXPECT_TRUE(report) << report.error().message;
    return *report;
  }
  // Drops the append-only triggers first, as an attacker with the file would.
  void tamper_entries(const std::string& sql) {
    store_.reset();
    tamper(
        "DROP TRIGGER audit_entries_are_append_only_update; "
        "DROP TRIGGER audit_entries_are_append_only_delete; " +
        sql);
  }
  static std::string hex(const std::vector<std::uint8_t>& bytes) { return crypto::to_hex(bytes); }
  static std::vector<FindingKind> kinds(const VerifyReport& report) {
    std::vector<FindingKind> out;
    for (const auto& finding : report.findings) out.push_back(finding.kind);
    return out;
  }

  std::string verifier_key_;
};

TEST_F(LogVerifierTest, AnUntouchedLogVerifies) {
  const auto report = verify();
  EXPECT_TRUE(report.ok()) << report.findings.front().message;
  EXPECT_EQ(report.entries, 600U);
  EXPECT_EQ(report.checkpoint_size, 600U);
  EXPECT_EQ(report.unverified_tail, 0U);
  EXPECT_GE(report.checkpoints_checked, 1U);
}

TEST_F(LogVerifierTest, AFlippedByteIsReportedWithItsIndex) {
  auto bytes = *encode_entry(entry(17));
  bytes[5] ^= 0x01;
  tamper_entries(fmt::format("UPDATE audit_entries SET entry = X'{}' WHERE idx = 17", hex(bytes)));
  const auto report = verify();
  ASSERT_EQ(kinds(report), (std::vector{FindingKind::kChanged, FindingKind::kCheckpointMismatch}));
  EXPECT_EQ(report.findings[0].index, 17);
  EXPECT_THAT(report.findings[0].message, HasSubstr("entry 17 was changed"));
}

TEST_F(LogVerifierTest, ADeletedEntryIsReportedWithItsIndex) {
  tamper_entries("DELETE FROM audit_entries WHERE idx = 40");
  const auto report = verify();
  ASSERT_EQ(kinds(report), (std::vector{FindingKind::kMissing, FindingKind::kCheckpointMismatch}));
  EXPECT_EQ(report.findings[0].index, 40);
  EXPECT_THAT(report.findings[0].message, HasSubstr("entry 40 is missing"));
}

TEST_F(LogVerifierTest, ReorderedEntriesAreReportedWithBothIndexes) {
  tamper_entries(
      "CREATE TEMP TABLE swap AS SELECT idx, entry FROM audit_entries WHERE idx IN (50, 300); "
      "UPDATE audit_entries SET entry = (SELECT entry FROM swap WHERE swap.idx = 350 - "
      "audit_entries.idx) WHERE idx IN (50, 300)");
  const auto report = verify();
  ASSERT_EQ(kinds(report), (std::vector{FindingKind::kMoved, FindingKind::kMoved,
                                        FindingKind::kCheckpointMismatch}));
  EXPECT_EQ(report.findings[0].index, 50);
  EXPECT_EQ(report.findings[0].signed_at, 300);
  EXPECT_EQ(report.findings[1].index, 300);
  EXPECT_EQ(report.findings[1].signed_at, 50);
}

TEST_F(LogVerifierTest, AnInsertedEntryIsReportedWithItsIndex) {
  const auto forged = *encode_entry(entry(9999));
  tamper_entries(
      fmt::format("UPDATE audit_entries SET idx = -idx - 1 WHERE idx >= 100; "
                  "UPDATE audit_entries SET idx = -idx WHERE idx < 0; "
                  "INSERT INTO audit_entries (idx, subject, entry) VALUES (100, 'x', X'{}')",
                  hex(forged)));
  const auto report = verify();
  ASSERT_GE(report.findings.size(), 2U);
  EXPECT_EQ(report.findings[0].kind, FindingKind::kInserted);
  EXPECT_EQ(report.findings[0].index, 100);
  EXPECT_THAT(report.findings[0].message, HasSubstr("entry 100 was inserted"));
  EXPECT_EQ(report.findings[1].kind, FindingKind::kMoved);
  EXPECT_EQ(report.findings[1].index, 101);
  EXPECT_EQ(report.findings[1].signed_at, 100);
  EXPECT_EQ(report.unverified_tail, 1U);  // the last signed entry was pushed past the checkpoint
}

TEST_F(LogVerifierTest, AChangeInThePartialTileIsLocatedBetweenCheckpoints) {
  // More checkpoints, so the partial tile's entries are bracketed closely.
  {
    open_store();
    auto log = *open_log();
    append(600, 5);
    ASSERT_TRUE(log->checkpoint_now());
    append(605, 5);
    ASSERT_TRUE(log->checkpoint_now());
  }
  auto bytes = *encode_entry(entry(607));
  bytes[5] ^= 0x01;
  tamper_entries(fmt::format("UPDATE audit_entries SET entry = X'{}' WHERE idx = 607", hex(bytes)));
  const auto report = verify();
  ASSERT_EQ(kinds(report),
            (std::vector{FindingKind::kCheckpointMismatch, FindingKind::kChangedInRange}));
  EXPECT_EQ(report.findings[1].index, 605);
  EXPECT_EQ(report.findings[1].count, 5);
}

TEST_F(LogVerifierTest, DamagedTilesWithIntactEntriesBlameTheTiles) {
  store_.reset();
  tamper(
      "DROP TRIGGER audit_tiles_are_append_only_update; "
      "UPDATE audit_tiles SET hashes = zeroblob(8192) WHERE level = 0 AND tile = 0;");
  const auto report = verify();
  ASSERT_EQ(kinds(report), (std::vector{FindingKind::kTileDamaged}));
}

TEST_F(LogVerifierTest, AForgedCheckpointIsReportedAndTheLastValidOneUsed) {
  auto forger = NoteSigner::from_seed(verifier_key_.substr(0, verifier_key_.find('+')),
                                      crypto::SecretBytes::random(32));
  store::WriteBatch batch;
  batch.checkpoints.push_back(store::StoredCheckpoint{
      700, *forger->sign(checkpoint_text(Checkpoint{forger->name(), 700, {}})), 1});
  ASSERT_TRUE(store_->commit(batch));
  const auto report = verify();
  EXPECT_EQ(report.checkpoint_size, 600U);
  ASSERT_EQ(kinds(report), (std::vector{FindingKind::kBadCheckpoint}));
}

TEST_F(LogVerifierTest, ATrustedCheckpointCatchesTruncation) {
  const std::string trusted = (*store_->latest_checkpoint())->note;
  store_.reset();
  tamper(
      "DROP TRIGGER audit_entries_are_append_only_delete; "
      "DROP TRIGGER audit_checkpoints_are_append_only_delete; "
      "DELETE FROM audit_entries WHERE idx >= 590; DELETE FROM audit_checkpoints;");
  const auto report = verify({trusted});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.findings.front().kind, FindingKind::kTruncated);
  EXPECT_THAT(kinds(report), ::testing::Contains(FindingKind::kCheckpointMismatch));
  // A checkpoint by another key is refused outright.
  auto other = NoteSigner::from_seed("kavach/other", crypto::SecretBytes::random(32));
  auto verifier = NoteVerifier::parse(verifier_key_);
  EXPECT_FALSE(verify_log(*store_, *verifier,
                          {*other->sign(checkpoint_text(Checkpoint{"kavach/other", 1, {}}))}));
}

}  // namespace
}  // namespace kavach::audit
