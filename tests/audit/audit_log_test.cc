#include "audit/audit_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "audit_log_fixture.h"
#include "store/forwarding_store.h"

namespace kavach::audit {
namespace {

using AuditLogTest = AuditLogFixture;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST_F(AuditLogTest, ChecksAndSignsWhatWasAppended) {
  auto log = open_log();
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_FALSE((*log)->latest_checkpoint());
  const auto leaves = append(0, 3);
  auto latest = (*log)->checkpoint_now();
  ASSERT_TRUE(latest && *latest) << (latest ? "none" : latest.error().message);
  EXPECT_EQ((*latest)->size, 3);

  auto verifier = NoteVerifier::parse((*log)->verifier_key());
  ASSERT_TRUE(verifier);
  auto text = verifier->open((*latest)->note);
  ASSERT_TRUE(text) << text.error().message;
  auto checkpoint = parse_checkpoint(*text);
  ASSERT_TRUE(checkpoint);
  EXPECT_EQ(checkpoint->origin, (*log)->origin());
  EXPECT_THAT(checkpoint->origin, StartsWith("kavach/"));
  EXPECT_EQ(checkpoint->root, root_of(leaves));
  EXPECT_EQ(**store_->latest_checkpoint(), **latest);
}

TEST_F(AuditLogTest, TheDefaultOriginStaysTheSameForTheNode) {
  auto first = node_audit_signer(*keys_, "");
  auto second = node_audit_signer(*keys_, "");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->verifier_key(), second->verifier_key());
  EXPECT_EQ(node_audit_signer(*keys_, "hospital.example/audit")->name(), "hospital.example/audit");
}

TEST_F(AuditLogTest, ServesProofsThatVerifyAgainstCheckpoints) {
  auto log = *open_log();
  const auto first = append(0, 300);
  const auto old_checkpoint = **log->checkpoint_now();
  const auto more = append(300, 500);
  const auto latest = **log->checkpoint_now();
  ASSERT_EQ(latest.size, 800);
  std::vector<Hash> all = first;
  all.insert(all.end(), more.begin(), more.end());
  const Hash root = root_of(all);
  for (const std::uint64_t index : {0ULL, 255ULL, 256ULL, 799ULL}) {
    auto proof = log->inclusion_proof(index, 800);
    ASSERT_TRUE(proof) << proof.error().message;
    EXPECT_TRUE(verify_inclusion(index, 800, all[index], elements(*proof), root));
  }
  auto consistency = log->consistency_proof(300, 800);
  ASSERT_TRUE(consistency);
  const Hash old_root = root_of(std::span(all).first(300));
  EXPECT_TRUE(verify_consistency(300, 800, elements(*consistency), old_root, root));
  EXPECT_EQ(old_checkpoint.size, 300);
  // Nothing beyond the checkpointed tree.
  EXPECT_FALSE(log->inclusion_proof(0, 801));
  EXPECT_FALSE(log->consistency_proof(1, 801));
}

TEST_F(AuditLogTest, ServesTilesAndEntryBundles) {
  auto log = *open_log();
  const auto leaves = append(0, 260);
  ASSERT_TRUE(log->checkpoint_now());
  auto full = log->hash_tile(0, 0, 256);
  ASSERT_TRUE(full);
  EXPECT_EQ(*full, tile_bytes(std::span(leaves).first(256)));
  auto partial = log->hash_tile(0, 1, 4);
  ASSERT_TRUE(partial);
  EXPECT_EQ(*partial, tile_bytes(std::span(leaves).subspan(256)));
  EXPECT_EQ(log->hash_tile(0, 1, 5).error().code, ErrorCode::kNotFound);

  auto bundle = log->entry_bundle(1, 4);
  ASSERT_TRUE(bundle);
  const auto first = *encode_entry(entry(256));
  ASSERT_GE(bundle->size(), first.size() + 2);
  EXPECT_EQ((std::size_t{(*bundle)[0]} << 8) | (*bundle)[1], first.size());
  EXPECT_TRUE(std::equal(first.begin(), first.end(), bundle->begin() + 2));
  EXPECT_EQ(log->entry_bundle(1, 5).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(log->entry_bundle(0, 0).error().code, ErrorCode::kNotFound);
}

TEST_F(AuditLogTest, ReopensWhereItLeftOffAndIntegratesEntriesAppendedMeanwhile) {
  std::vector<Hash> all;
  {
    auto log = *open_log();
    all = append(0, 700);
    ASSERT_TRUE(log->checkpoint_now());
  }
  // Entries appended while no server ran (the CLI, say) are integrated at the next open.
  const auto more = append(700, 10);
  all.insert(all.end(), more.begin(), more.end());
  open_store();
  auto log = open_log();
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ((*log)->size(), 710U);
  auto text = NoteVerifier::parse((*log)->verifier_key())->open((*log)->latest_checkpoint()->note);
  EXPECT_EQ(parse_checkpoint(*text)->root, root_of(all));
}

TEST_F(AuditLogTest, RefusesToOpenWhenTheStoredTreeDisagreesWithItsSignedCheckpoint) {
  {
    auto log = *open_log();
    append(0, 600);
    ASSERT_TRUE(log->checkpoint_now());
  }
  open_store();
  store_.reset();
  tamper(
      "DROP TRIGGER audit_tiles_are_append_only_update; "
      "UPDATE audit_tiles SET hashes = zeroblob(8192) WHERE level = 0 AND tile = 1;");
  open_store();
  auto log = open_log();
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code, ErrorCode::kDataLoss);
  EXPECT_THAT(log.error().message, HasSubstr("kavach audit verify"));
}

TEST_F(AuditLogTest, RefusesACheckpointSignedByAnotherKey) {
  {
    auto log = *open_log();
    append(0, 2);
    ASSERT_TRUE(log->checkpoint_now());
  }
  auto other = NoteSigner::from_seed("kavach/other", crypto::SecretBytes::random(32));
  auto forged = other->sign(checkpoint_text(Checkpoint{"kavach/other", 5, {}}));
  store::WriteBatch batch;
  batch.checkpoints.push_back(store::StoredCheckpoint{5, *forged, 1});
  ASSERT_TRUE(store_->commit(batch));
  auto log = open_log();
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code, ErrorCode::kDataLoss);
}

TEST_F(AuditLogTest, TheBackgroundCheckpointerSignsNewEntries) {
  AuditLogOptions options;
  options.checkpoint_interval = std::chrono::milliseconds(10);
  auto log = *open_log(options);
  log->start();
  append(0, 5);
  for (int tries = 0; tries < 500 && log->size() < 5; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(log->size(), 5U);
  EXPECT_EQ(log->latest_checkpoint()->size, 5);
}

// Holds queued commits until released, so a test sees what happens before they are durable.
class HoldingStore final : public store::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  store::CommitTicket commit_queued(store::WriteBatch batch) override {
    held_.emplace_back(std::move(batch), store::CommitTicket());
    return held_.back().second;
  }
  void release() {
    for (auto& [batch, ticket] : held_) ticket.complete(inner().commit(std::move(batch)));
    held_.clear();
  }
  std::size_t held() const { return held_.size(); }

 private:
  std::vector<std::pair<store::WriteBatch, store::CommitTicket>> held_;
};

// Under a QueuedEntries, record_entries returns once its commit is queued and hands the ticket
// over; nested scopes keep their own tickets; outside any, it commits before it returns.
TEST(QueuedEntriesTest, RecordEntriesQueuesUnderAScopeAndCommitsOutsideOne) {
  kavach::testing::TempDir dir;
  HoldingStore holding(*store::open_store("sqlite:" + (dir.path() / "store.db").string()));
  AuditEntry read;
  read.time_ms = 1000;
  read.action = Action::kRecordRead;
  read.actor_id = "client-1";
  read.subject = "patient-1";

  std::vector<store::CommitTicket> outer_tickets;
  std::vector<store::CommitTicket> inner_tickets;
  {
    QueuedEntries outer;
    ASSERT_TRUE(record_entries(holding, {&read, 1}));
    {
      QueuedEntries inner;
      ASSERT_TRUE(record_entries(holding, {&read, 1}));
      inner_tickets = inner.take();
    }
    outer_tickets = outer.take();
    EXPECT_TRUE(outer.take().empty()) << "taken once";
  }
  ASSERT_EQ(outer_tickets.size(), 1u);
  ASSERT_EQ(inner_tickets.size(), 1u);
  EXPECT_EQ(holding.held(), 2u);
  EXPECT_EQ(*holding.audit_size(), 0) << "nothing is durable until the commits run";
  bool done = false;
  outer_tickets[0].when_done([&](const Result<store::CommitReceipt>& outcome) {
    done = true;
    EXPECT_TRUE(outcome);
  });
  EXPECT_FALSE(done);
  holding.release();
  EXPECT_TRUE(done);
  EXPECT_TRUE(inner_tickets[0].wait());
  EXPECT_EQ(*holding.audit_size(), 2);

  ASSERT_TRUE(record_entries(holding, {&read, 1}));
  EXPECT_EQ(holding.held(), 0u);
  EXPECT_EQ(*holding.audit_size(), 3) << "outside a scope the entry is durable on return";
}

}  // namespace
}  // namespace kavach::audit
