#include "audit/audit_entry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kavach::audit {
namespace {

AuditEntry full_entry() {
  AuditEntry entry;
  entry.time_ms = 1'764'000'000'123;
  entry.action = Action::kRecordRead;
  entry.outcome = Outcome::kAllowed;
  entry.basis = Basis::kConsent;
  entry.actor_kind = ActorKind::kProfessional;
  entry.actor_id = "dr-meera";
  entry.facility_id = "IN2710000123";
  entry.subject = "5f0c2a";
  entry.resource_type = "Observation";
  entry.resource_id = "obs-1";
  entry.resource_version = 3;
  entry.purpose = "CAREMGT";
  entry.consent_id = "c0ffee";
  entry.content_hash.assign(32, 0xab);
  return entry;
}

TEST(AuditEntry, RoundTripsEveryField) {
  const auto entry = full_entry();
  auto encoded = encode_entry(entry);
  ASSERT_TRUE(encoded) << encoded.error().message;
  EXPECT_EQ(encoded->front(), kEntryFormatVersion);
  auto decoded = decode_entry(*encoded);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, entry);
}

TEST(AuditEntry, LeavesOutAbsentFieldsAndStillRoundTrips) {
  AuditEntry entry;
  entry.time_ms = 5;
  entry.action = Action::kKeyRotate;
  entry.basis = Basis::kOperator;
  entry.actor_kind = ActorKind::kOperator;
  auto encoded = encode_entry(entry);
  ASSERT_TRUE(encoded);
  // version byte + time (3 + 8) + four one-byte codes (3 + 1 each)
  EXPECT_EQ(encoded->size(), 1U + 11U + 4 * 4U);
  EXPECT_EQ(*decode_entry(*encoded), entry);
}

TEST(AuditEntry, EncodingIsAFixedByteLayout) {
  AuditEntry entry;
  entry.time_ms = 0x0102030405060708;
  entry.action = Action::kRecordCreate;
  entry.actor_id = "ab";
  const std::vector<std::uint8_t> expected = {
      0x01,                                                              // format version
      0x01, 0x00, 0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // time
      0x02, 0x00, 0x01, 0x01,                                            // action
      0x03, 0x00, 0x01, 0x01,                                            // outcome
      0x04, 0x00, 0x01, 0x01,                                            // basis
      0x05, 0x00, 0x01, 0x01,                                            // actor kind
      0x06, 0x00, 0x02, 'a',  'b',                                       // actor id
  };
  EXPECT_EQ(*encode_entry(entry), expected);
}

TEST(AuditEntry, RefusesFieldsThatCannotBeLogged) {
  auto entry = full_entry();
  entry.actor_id = std::string(kEntryTextBytesMax + 1, 'x');
  EXPECT_FALSE(encode_entry(entry));
  entry = full_entry();
  entry.subject = "line\nbreak";
  EXPECT_FALSE(encode_entry(entry));
  entry = full_entry();
  entry.content_hash.assign(31, 0);
  EXPECT_FALSE(encode_entry(entry));
  entry = full_entry();
  entry.action = static_cast<Action>(200);
  EXPECT_FALSE(encode_entry(entry));
}

TEST(AuditEntry, DecodeRefusesEveryNonCanonicalForm) {
  const auto good = *encode_entry(full_entry());
  auto refused = [](std::vector<std::uint8_t> bytes) { return !decode_entry(bytes); };
  EXPECT_TRUE(refused({}));
  auto wrong_version = good;
  wrong_version[0] = 2;
  EXPECT_TRUE(refused(wrong_version));
  auto trailing = good;
  trailing.push_back(0);
  EXPECT_TRUE(refused(trailing));
  auto cut = good;
  cut.pop_back();
  EXPECT_TRUE(refused(cut));
  // Swap the first two fields' tags: out of order.
  auto disordered = good;
  std::swap(disordered[1], disordered[12]);
  EXPECT_TRUE(refused(disordered));
  // A zero resource version is written by leaving the field out, never as zeros.
  AuditEntry zero = full_entry();
  zero.resource_version = 0;
  auto without = *encode_entry(zero);
  EXPECT_TRUE(decode_entry(without));
  // Missing mandatory field: drop the time field entirely.
  std::vector<std::uint8_t> no_time(good.begin(), good.begin() + 1);
  no_time.insert(no_time.end(), good.begin() + 12, good.end());
  EXPECT_TRUE(refused(no_time));
}

TEST(AuditEntry, NamesEveryCode) {
  EXPECT_EQ(action_name(Action::kRecordSearch), "record.search");
  EXPECT_EQ(outcome_name(Outcome::kDenied), "denied");
  EXPECT_EQ(basis_name(Basis::kBreakGlass), "break-the-glass");
  EXPECT_EQ(actor_kind_name(ActorKind::kPatient), "patient");
}

}  // namespace
}  // namespace kavach::audit
