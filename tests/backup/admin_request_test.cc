#include "backup/admin_request.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace kavach::backup {
namespace {

class AdminRequestTest : public ::testing::Test {
 protected:
  std::string sign(const audit::NoteSigner& signer, AdminOperation operation, std::int64_t argument,
                   std::int64_t issued_ms) {
    return *sign_admin_request(signer, AdminRequest{operation, argument, issued_ms});
  }
  std::int64_t now() const { return unix_ms(clock_.now()); }

  testing::TempDir dir_;
  ManualClock clock_{TimePoint{std::chrono::seconds{1'800'000'000}}};
};

TEST_F(AdminRequestTest, AcceptsAFreshRequestSignedByTheAdminKeyOnce) {
  const auto signer = *create_admin_key(dir_.path() / "admin.key");
  const auto loaded = load_admin_key(dir_.path() / "admin.key");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->verifier_key(), signer.verifier_key());
  AdminRequestGate gate(*audit::NoteVerifier::parse(signer.verifier_key()), clock_);
  const auto note = sign(*loaded, AdminOperation::kRetention, 90, now());
  const auto request = gate.open(note);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->operation, AdminOperation::kRetention);
  EXPECT_EQ(request->argument, 90);
  // Replayed: refused.
  EXPECT_EQ(gate.open(note).error().code, ErrorCode::kPermissionDenied);
}

TEST_F(AdminRequestTest, RefusesOtherKeysStaleRequestsAndEditedText) {
  const auto admin = *create_admin_key(dir_.path() / "admin.key");
  const auto node = *create_admin_key(dir_.path() / "not-admin.key");
  AdminRequestGate gate(*audit::NoteVerifier::parse(admin.verifier_key()), clock_);
  EXPECT_EQ(gate.open(sign(node, AdminOperation::kPrune, now(), now())).error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_FALSE(gate.open(sign(admin, AdminOperation::kPrune, 1, now() - 6 * 60'000)));
  EXPECT_FALSE(gate.open(sign(admin, AdminOperation::kPrune, 1, now() + 6 * 60'000)));
  std::string edited = sign(admin, AdminOperation::kRetention, 90, now() + 1);
  edited.replace(edited.find("retention 90"), 12, "retention 00");
  EXPECT_FALSE(gate.open(edited));
  EXPECT_FALSE(gate.open("not a note"));
}

}  // namespace
}  // namespace kavach::backup
