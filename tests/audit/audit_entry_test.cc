#include "audit/audit_entry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

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
  wrong_version[0] = 3;
  EXPECT_TRUE(refused(wrong_version));
  auto claims_further_records = good;  // version 2 without the further records
  claims_further_records[0] = kEntryWithRecordsFormatVersion;
  EXPECT_TRUE(refused(claims_further_records));
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

AuditEntry search_entry(std::string subject, std::string id, std::int64_t time_ms = 7) {
  AuditEntry entry;
  entry.time_ms = time_ms;
  entry.action = Action::kRecordSearch;
  entry.actor_id = "lab-app";
  entry.subject = std::move(subject);
  entry.resource_type = "Observation";
  entry.resource_id = std::move(id);
  entry.resource_version = 1;
  entry.content_hash.assign(32, 0x11);
  return entry;
}

TEST(AuditEntry, FurtherRecordsAreVersionThreeAndRoundTrip) {
  auto entry = full_entry();
  entry.further_records = {{"Observation", "obs-2", 4, std::vector<std::uint8_t>(32, 0xcd)},
                           {"Condition", "c", 1, {}}};
  auto encoded = encode_entry(entry);
  ASSERT_TRUE(encoded) << encoded.error().message;
  EXPECT_EQ(encoded->front(), kEntryWithRecordsFormatVersion);
  // The last field: tag 16, its length, then the Condition with no hash at the very end: its
  // type (not the one before), its id as text ("c" is hex, but of odd length), version 1.
  const std::vector<std::uint8_t> condition = {9,   'C', 'o', 'n', 'd', 'i', 't',
                                               'i', 'o', 'n', 1,   'c', 1,   0};
  ASSERT_GT(encoded->size(), condition.size());
  EXPECT_TRUE(std::equal(condition.begin(), condition.end(), encoded->end() - condition.size()));
  auto decoded = decode_entry(*encoded);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, entry);
  // The same entry without further records keeps the version-1 bytes it always had.
  entry.further_records.clear();
  EXPECT_EQ(encode_entry(entry)->front(), kEntryFormatVersion);
  EXPECT_EQ(records_named(entry), 1U);
}

TEST(AuditEntry, VersionThreeWritesHexIdsAsBytesTheTypeOnceAndVersionsAsVarints) {
  auto entry = full_entry();
  const std::string id = "018f3a2b4c5d6e7f8091a2b3c4d5e6f7";  // as this node assigns them
  entry.further_records = {{"Observation", id, 1, std::vector<std::uint8_t>(32, 0xcd)},
                           {"Observation", "ab", 300, {}}};
  const auto encoded = *encode_entry(entry);
  // The second record: the same type (0), the id "ab" as one byte (0x80 | 1, 0xab), 300 as the
  // varint 0xac 0x02, no hash.
  const std::vector<std::uint8_t> second = {0, 0x81, 0xab, 0xac, 0x02, 0};
  EXPECT_TRUE(std::equal(second.begin(), second.end(), encoded.end() - second.size()));
  // The first: its type, the 32 hex digits as 16 bytes, version 1, its hash.
  const std::size_t first_bytes = 1 + 11 + 1 + 16 + 1 + 1 + 32;
  const std::size_t field_at = encoded.size() - second.size() - first_bytes - 3;
  EXPECT_EQ(encoded[field_at], 16);
  EXPECT_EQ(encoded[field_at + 3 + 12], 0x90);
  EXPECT_EQ(encoded[field_at + 3 + 13], 0x01);
  EXPECT_EQ(*decode_entry(encoded), entry);
  // Version 2 wrote the same records in 20 + 72 + 32 bytes more than this.
  const auto full = *encode_entry(entry, kEntryWithFullRecordsFormatVersion);
  EXPECT_EQ(full.front(), kEntryWithFullRecordsFormatVersion);
  EXPECT_EQ(full.size() - encoded.size(), (1 + 11 - 1) + (32 - 16) + (8 - 1) + (2 - 1) + (8 - 2));
}

// Entries written in version 2 before version 3 existed are read as they were written, and
// their bytes (their Merkle leaves) are what a re-encoding of them in version 2 gives.
TEST(AuditEntry, VersionTwoEntriesStayReadable) {
  auto entry = full_entry();
  entry.further_records = {{"Observation", "obs-2", 4, std::vector<std::uint8_t>(32, 0xcd)},
                           {"Condition", "c", 1, {}}};
  const auto version_two = *encode_entry(entry, kEntryWithFullRecordsFormatVersion);
  EXPECT_EQ(version_two.front(), 2);
  // The Condition as version 2 wrote it: lengths and text, 8 bytes of version, no hash.
  const std::vector<std::uint8_t> condition = {9,   'C', 'o', 'n', 'd', 'i', 't', 'i', 'o', 'n', 1,
                                               'c', 0,   0,   0,   0,   0,   0,   0,   1,   0};
  EXPECT_TRUE(std::equal(condition.begin(), condition.end(), version_two.end() - condition.size()));
  const auto decoded = decode_entry(version_two);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, entry);
  EXPECT_EQ(read_entry_facts(version_two)->records_named, 3U);
  // A version-2 entry is not read as version 3 or the other way round.
  auto as_three = version_two;
  as_three[0] = kEntryWithRecordsFormatVersion;
  EXPECT_FALSE(decode_entry(as_three));
  auto as_two = *encode_entry(entry);
  as_two[0] = kEntryWithFullRecordsFormatVersion;
  EXPECT_FALSE(decode_entry(as_two));
  EXPECT_FALSE(encode_entry(entry, 4));
  EXPECT_FALSE(encode_entry(entry, kEntryFormatVersion));
}

TEST(AuditEntry, RefusesFurtherRecordsThatCannotBeLogged) {
  const auto with = [](TouchedRecord record) {
    auto entry = full_entry();
    entry.further_records.push_back(std::move(record));
    return encode_entry(entry);
  };
  EXPECT_TRUE(with({"Observation", "o", 1, {}}));
  EXPECT_FALSE(with({"", "o", 1, {}}));
  EXPECT_FALSE(with({"Observation", "", 1, {}}));
  EXPECT_FALSE(with({"Observation", "o", 0, {}}));
  EXPECT_FALSE(with({"Observation", std::string(kTouchedRecordTextBytesMax + 1, 'o'), 1, {}}));
  EXPECT_FALSE(with({"Observation", "o\n", 1, {}}));
  EXPECT_FALSE(with({"Observation", "o", 1, std::vector<std::uint8_t>(31, 0)}));
  // More than fits in kEntryBytesMax.
  auto entry = full_entry();
  entry.further_records.assign(100, {"Observation", std::string(64, 'o'), 1, {}});
  EXPECT_FALSE(encode_entry(entry));
}

TEST(AuditEntry, DecodeRefusesDamagedFurtherRecords) {
  auto entry = full_entry();
  entry.further_records = {{"Observation", "obs-2", 4, std::vector<std::uint8_t>(32, 0xcd)}};
  const auto good = *encode_entry(entry);
  auto refused = [](std::vector<std::uint8_t> bytes) { return !decode_entry(bytes); };
  auto as_version_one = good;
  as_version_one[0] = kEntryFormatVersion;
  EXPECT_TRUE(refused(as_version_one));
  // Cut the hash short by one byte, adjusting the field's length so only the record is wrong.
  const std::size_t record_bytes = 1 + 11 + 1 + 5 + 1 + 1 + 32;
  const std::size_t field_length_at = good.size() - record_bytes - 2;
  auto cut = good;
  cut.pop_back();
  cut[field_length_at + 1] = static_cast<std::uint8_t>(cut[field_length_at + 1] - 1);
  EXPECT_TRUE(refused(cut));
  // A hash length that is neither 0 nor 32.
  auto short_hash = good;
  short_hash[good.size() - 33] = 31;
  EXPECT_TRUE(refused(short_hash));

  // Field 16 replaced by `records`, its length set to match.
  const auto with_records = [&](std::vector<std::uint8_t> records) {
    std::vector<std::uint8_t> bytes(good.begin(), good.end() - record_bytes - 2);
    bytes.push_back(static_cast<std::uint8_t>(records.size() >> 8));
    bytes.push_back(static_cast<std::uint8_t>(records.size() & 0xff));
    bytes.insert(bytes.end(), records.begin(), records.end());
    return bytes;
  };
  const std::vector<std::uint8_t> type = {9, 'C', 'o', 'n', 'd', 'i', 't', 'i', 'o', 'n'};
  const auto record = [&](std::vector<std::uint8_t> rest) {
    auto bytes = type;
    bytes.insert(bytes.end(), rest.begin(), rest.end());
    return bytes;
  };
  EXPECT_FALSE(refused(with_records(record({1, 'c', 1, 0})))) << "the canonical form";
  EXPECT_FALSE(refused(with_records(record({0x81, 0xab, 1, 0})))) << "a hex id, canonical";
  // Every other way of writing the same record is refused, as is what cannot be read.
  EXPECT_TRUE(refused(with_records(record({2, 'a', 'b', 1, 0})))) << "a hex id as text";
  EXPECT_TRUE(refused(with_records(record({1, 'c', 0x81, 0x00, 0})))) << "a needless varint byte";
  EXPECT_TRUE(refused(with_records({0, 1, 'c', 1, 0}))) << "the same type as no record before";
  auto twice = record({1, 'c', 1, 0});
  const auto again = record({1, 'd', 1, 0});
  twice.insert(twice.end(), again.begin(), again.end());
  EXPECT_TRUE(refused(with_records(twice))) << "a type repeated, not marked the same";
  EXPECT_TRUE(refused(with_records(record({1, 'c', 0})))) << "a version of 0";
  EXPECT_TRUE(refused(with_records(
      record({1, 'c', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0}))))
      << "a varint longer than 9 bytes";
  EXPECT_FALSE(refused(
      with_records(record({1, 'c', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0}))))
      << "9 bytes: the largest int64";
  EXPECT_TRUE(refused(with_records(record({1, 'c', 0x81})))) << "a varint cut short";
  EXPECT_TRUE(refused(with_records(record({0x80, 1, 0})))) << "an empty hex id";
  EXPECT_TRUE(refused(with_records(record({0x81})))) << "an id cut short";
}

// The guard reads these facts from every batch it sees; they must be the ones a full decode gives.
TEST(AuditEntry, FactsReadFromAnEncodingAreThoseOfItsDecodedEntry) {
  auto entry = full_entry();
  entry.actor_kind = ActorKind::kClient;
  entry.outcome = Outcome::kDenied;
  const auto one = *encode_entry(entry);
  EXPECT_EQ(*read_entry_facts(one), facts_of(*decode_entry(one)));
  EXPECT_EQ(read_entry_facts(one)->records_named, 1U);

  entry.further_records = {{"Observation", "obs-2", 4, std::vector<std::uint8_t>(32, 0xcd)},
                           {"Condition", "c", 1, {}}};
  const auto two = *encode_entry(entry);
  const auto facts = read_entry_facts(two);
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(*facts, facts_of(*decode_entry(two)));
  EXPECT_EQ(facts->records_named, 3U);
  EXPECT_EQ(facts->actor_id, "dr-meera");
  EXPECT_EQ(facts->subject, "5f0c2a");
  EXPECT_EQ(facts->outcome, Outcome::kDenied);

  AuditEntry node_wide;
  node_wide.action = Action::kKeyRotate;
  node_wide.actor_kind = ActorKind::kNode;
  EXPECT_EQ(read_entry_facts(*encode_entry(node_wide))->records_named, 0U);

  // What it cannot read it refuses, as decode_entry does.
  auto cut = two;
  cut.pop_back();
  EXPECT_FALSE(read_entry_facts(cut));
  EXPECT_FALSE(read_entry_facts(std::vector<std::uint8_t>{}));
  auto unknown_version = one;
  unknown_version[0] = 0x04;
  EXPECT_FALSE(read_entry_facts(unknown_version));
}

TEST(AuditEntry, FoldsOneRequestsEntriesPerPatient) {
  AuditEntry bare = search_entry("p1", "");
  bare.resource_type = "Observation";
  bare.resource_id.clear();
  bare.resource_version = 0;
  bare.content_hash.clear();
  const auto folded =
      fold_records({search_entry("p1", "o1", 7), search_entry("p2", "o2", 8),
                    search_entry("p1", "o3", 9), bare, search_entry("p1", "o4", 10)});
  ASSERT_EQ(folded.size(), 3U);
  EXPECT_EQ(folded[0].subject, "p1");
  EXPECT_EQ(folded[0].resource_id, "o1");
  EXPECT_EQ(folded[0].time_ms, 7);  // the first entry's time
  ASSERT_EQ(folded[0].further_records.size(), 2U);
  EXPECT_EQ(folded[0].further_records[0],
            (TouchedRecord{"Observation", "o3", 1, std::vector<std::uint8_t>(32, 0x11)}));
  EXPECT_EQ(folded[0].further_records[1].id, "o4");
  EXPECT_EQ(folded[1].subject, "p2");
  EXPECT_TRUE(folded[1].further_records.empty());
  EXPECT_EQ(folded[2], bare);
  // Entries that differ in more than their record (here the outcome) are not folded.
  auto denied = search_entry("p1", "o5");
  denied.outcome = Outcome::kDenied;
  EXPECT_EQ(fold_records({search_entry("p1", "o1"), denied}).size(), 2U);
}

TEST(AuditEntry, FoldedEntriesStayWithinTheSizeLimit) {
  std::vector<AuditEntry> entries;
  for (int i = 0; i < 100; ++i) {
    entries.push_back(search_entry("p1", fmt::format("{:064}", i)));
  }
  const auto folded = fold_records(entries);
  ASSERT_GT(folded.size(), 1U);
  std::size_t named = 0;
  std::vector<std::string> ids;
  for (const auto& entry : folded) {
    auto encoded = encode_entry(entry);
    ASSERT_TRUE(encoded) << encoded.error().message;
    EXPECT_LE(encoded->size(), kEntryBytesMax);
    named += records_named(entry);
    ids.push_back(entry.resource_id);
    for (const auto& record : entry.further_records) ids.push_back(record.id);
  }
  EXPECT_EQ(named, 100U);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ids[i], fmt::format("{:064}", i));
  // Each but the last is full: another record of this size would not have fitted.
  const auto first = *encode_entry(folded.front());
  EXPECT_GT(first.size() + 1 + 11 + 1 + 64 + 8 + 1 + 32, kEntryBytesMax);
}

TEST(AuditEntry, NamesEveryCode) {
  EXPECT_EQ(action_name(Action::kRecordSearch), "record.search");
  EXPECT_EQ(outcome_name(Outcome::kDenied), "denied");
  EXPECT_EQ(basis_name(Basis::kBreakGlass), "break-the-glass");
  EXPECT_EQ(actor_kind_name(ActorKind::kPatient), "patient");
}

}  // namespace
}  // namespace kavach::audit
