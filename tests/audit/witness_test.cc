#include "audit/witness.h"

#include "audit/cosignature_collector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "audit_log_fixture.h"
#include "crypto/encoding.h"

namespace kavach::audit {
namespace {

using Kind = AddCheckpointResult::Kind;
using ::testing::HasSubstr;

// One node's audit log, witnessed by a witness that keeps its state in the same store.
class WitnessTest : public AuditLogFixture {
 protected:
  void SetUp() override {
    AuditLogFixture::SetUp();
    log_ = *open_log();
    sealer_ = std::make_unique<vault::RecordSealer>(*keys_);
    witness_ =
        std::make_unique<Witness>(*store_, *sealer_, *node_witness_signer(*keys_, ""), clock_);
    ASSERT_TRUE(witness_->add_log(log_->verifier_key(), "os:tester"));
  }
  std::string checkpoint_after(int first, int count) {
    append(first, count);
    return (*log_->checkpoint_now())->note;
  }
  std::string request(std::uint64_t old_size, std::uint64_t size, const std::string& note) {
    std::string body = fmt::format("old {}\n", old_size);
    if (old_size > 0 && old_size < size) {
      const auto proof = log_->consistency_proof(old_size, size);
      for (const auto& hash : *proof) {
        body += crypto::to_base64(hash) + "\n";
      }
    }
    return body + "\n" + note;
  }

  std::unique_ptr<vault::RecordSealer> sealer_;
  std::unique_ptr<Witness> witness_;
};

TEST_F(WitnessTest, CosignsConsistentCheckpointsAndRemembersTheLatest) {
  const auto first = checkpoint_after(0, 3);
  auto cosigned = witness_->add_checkpoint(request(0, 3, first));
  ASSERT_TRUE(cosigned) << cosigned.error().message;
  ASSERT_EQ(cosigned->kind, Kind::kCosigned) << cosigned->reason;
  auto verifier = NoteVerifier::parse(witness_->verifier_key());
  EXPECT_TRUE(verifier->open(first + cosigned->cosignatures));
  EXPECT_THAT(witness_->verifier_key(), ::testing::StartsWith("kavach-witness/"));

  const auto second = checkpoint_after(3, 300);
  cosigned = witness_->add_checkpoint(request(3, 303, second));
  ASSERT_TRUE(cosigned) << cosigned.error().message;
  ASSERT_EQ(cosigned->kind, Kind::kCosigned) << cosigned->reason;
  EXPECT_TRUE(verifier->open(second + cosigned->cosignatures));
  const auto logs = *witness_->logs();
  ASSERT_EQ(logs.size(), 1U);
  EXPECT_EQ(logs[0].origin, log_->origin());
  EXPECT_EQ(logs[0].size, 303U);
  EXPECT_EQ(logs[0].note, second);
  // The same checkpoint again is cosigned again: nothing changed.
  cosigned = witness_->add_checkpoint(request(303, 303, second));
  EXPECT_EQ(cosigned->kind, Kind::kCosigned);
  EXPECT_TRUE(witness_->alarms()->empty());
}

TEST_F(WitnessTest, AStaleOldSizeIsAnsweredWithTheWitnessesSize) {
  const auto first = checkpoint_after(0, 3);
  ASSERT_EQ(witness_->add_checkpoint(request(0, 3, first))->kind, Kind::kCosigned);
  const auto second = checkpoint_after(3, 2);
  auto answer = witness_->add_checkpoint(request(0, 5, second));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->kind, Kind::kSizeMismatch);
  EXPECT_EQ(answer->witness_size, 3U);
}

TEST_F(WitnessTest, RefusesUnknownLogsForgedSignaturesAndMalformedRequests) {
  const auto note = checkpoint_after(0, 3);
  auto stranger = NoteSigner::from_seed("kavach/stranger", crypto::SecretBytes::random(32));
  const auto foreign = *stranger->sign(checkpoint_text(Checkpoint{"kavach/stranger", 1, {}}));
  EXPECT_EQ(witness_->add_checkpoint("old 0\n\n" + foreign).error().code, ErrorCode::kNotFound);
  auto impostor = NoteSigner::from_seed(log_->origin(), crypto::SecretBytes::random(32));
  const auto forged = *impostor->sign(checkpoint_text(Checkpoint{log_->origin(), 9, {}}));
  EXPECT_EQ(witness_->add_checkpoint("old 0\n\n" + forged).error().code,
            ErrorCode::kPermissionDenied);
  std::string too_many = "old 1\n";
  for (int i = 0; i < 64; ++i) too_many += crypto::to_base64(Hash{}) + "\n";
  for (const std::string& body : std::vector<std::string>{
           std::string("\n\n") + note, "old 01\n\n" + note, "old -1\n\n" + note, "old 0\n" + note,
           "old 0\nnot-base64\n\n" + note, "old 5\n\n" + note, std::string("old 0\n"),
           too_many + "\n" + note, "old 0\n" + crypto::to_base64(Hash{}) + "\n\n" + note}) {
    auto refused = witness_->add_checkpoint(body);
    ASSERT_FALSE(refused) << body;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument) << body;
  }
  EXPECT_EQ(witness_->add_log(log_->verifier_key(), "os:tester").error().code,
            ErrorCode::kAlreadyExists);
  EXPECT_FALSE(witness_->add_log(witness_->verifier_key(), "os:tester"));  // not a log key
}

TEST_F(WitnessTest, TwoRootsForOneSizeOrABrokenProofRaiseAnAlarm) {
  const auto first = checkpoint_after(0, 3);
  ASSERT_EQ(witness_->add_checkpoint(request(0, 3, first))->kind, Kind::kCosigned);
  // The log's own key signing another history: a fork.
  auto signer = node_audit_signer(*keys_, "");
  Hash other_root{};
  other_root[0] = 1;
  const auto fork = *signer->sign(checkpoint_text(Checkpoint{log_->origin(), 3, other_root}));
  auto answer = witness_->add_checkpoint("old 3\n\n" + fork);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->kind, Kind::kFork);
  const auto grown = *signer->sign(checkpoint_text(Checkpoint{log_->origin(), 10, other_root}));
  answer = witness_->add_checkpoint("old 3\n" + crypto::to_base64(other_root) + "\n\n" + grown);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->kind, Kind::kBadProof);
  const auto alarms = *witness_->alarms();
  ASSERT_EQ(alarms.size(), 2U);  // both at the same (manual) time, so in either order
  const auto& fork_alarm = alarms[0].submitted_note == fork ? alarms[0] : alarms[1];
  const auto& proof_alarm = alarms[0].submitted_note == fork ? alarms[1] : alarms[0];
  EXPECT_THAT(fork_alarm.reason, HasSubstr("two different roots"));
  EXPECT_EQ(fork_alarm.submitted_note, fork);
  EXPECT_THAT(proof_alarm.reason, HasSubstr("inconsistent"));
  EXPECT_EQ(proof_alarm.submitted_note, grown);
  // The witness still holds the last good checkpoint.
  EXPECT_EQ(witness_->logs()->front().size, 3U);
}

}  // namespace
}  // namespace kavach::audit

namespace kavach::audit {
namespace {

// The collector talking to the witness in-process, through the protocol's answers.
class CollectorTest : public WitnessTest {
 protected:
  WitnessTransport transport() {
    return [this](const std::string& url, const std::string& body) -> Result<WitnessReply> {
      if (url == "down") return make_error(ErrorCode::kUnavailable, "connection refused");
      ++calls_;
      const auto answer = witness_->answer(body);
      return WitnessReply{answer.status, answer.body};
    };
  }
  int calls_ = 0;
};

TEST_F(CollectorTest, CollectsVerifiedCosignaturesAndFollowsTheWitnessesSize) {
  auto collector =
      CosignatureCollector::create(*log_, {{"witness", witness_->verifier_key()}}, transport());
  ASSERT_TRUE(collector) << collector.error().message;
  checkpoint_after(0, 10);
  ASSERT_EQ(*(*collector)->submit(), 1U);
  const auto note = (*collector)->cosigned_note();
  EXPECT_TRUE(NoteVerifier::parse(witness_->verifier_key())->open(note));
  EXPECT_TRUE(NoteVerifier::parse(log_->verifier_key())->open(note));

  // A fresh collector (a restarted node) starts from size 0, hears 409 and retries from 10.
  checkpoint_after(10, 5);
  auto restarted =
      CosignatureCollector::create(*log_, {{"witness", witness_->verifier_key()}}, transport());
  calls_ = 0;
  ASSERT_EQ(*(*restarted)->submit(), 1U);
  EXPECT_EQ(calls_, 2);
  EXPECT_EQ(witness_->logs()->front().size, 15U);
}

TEST_F(CollectorTest, AWitnessThatIsDownOrForeignDoesNotStopTheOthers) {
  auto stranger = node_witness_signer(*keys_, "stranger.example/w");
  auto collector = CosignatureCollector::create(
      *log_,
      {{"down", witness_->verifier_key()},
       {"witness", stranger->verifier_key()},  // answers, but not with this key's signature
       {"witness", witness_->verifier_key()}},
      transport());
  ASSERT_TRUE(collector);
  checkpoint_after(0, 4);
  EXPECT_EQ(*(*collector)->submit(), 1U);
  EXPECT_FALSE((*collector)->cosigned_note().empty());
  EXPECT_FALSE(CosignatureCollector::create(*log_, {{"x", log_->verifier_key()}}, transport()));
}

}  // namespace
}  // namespace kavach::audit
