// The restore's read-back digest (backup/row_digest.h): the same rows in any order give the same
// digest; a row changed in any field, dropped, added or duplicated gives another.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "backup/row_digest.h"

namespace kavach::backup {
namespace {

store::RecordVersion record(int i) {
  store::RecordVersion out;
  out.partition = fmt::format("patient-{}", i % 7);
  out.type = "Observation";
  out.id = fmt::format("o{}", i);
  out.version = 1 + i % 3;
  out.sequence = 100 + i;
  out.recorded_at_ms = 1'700'000'000'000 + i;
  out.deleted = i % 11 == 0;
  out.payload = {static_cast<std::uint8_t>(i), 0xff, static_cast<std::uint8_t>(i >> 8)};
  return out;
}

store::IndexRow index_row(int i) {
  return store::IndexRow{fmt::format("patient-{}", i % 7), "Observation", fmt::format("o{}", i),
                         store::IndexEntry{"code", {static_cast<std::uint8_t>(i), 1}}};
}

template <typename Row>
RowDigest digest_of(const std::vector<Row>& rows) {
  RowDigest digest;
  for (const auto& row : rows) digest.add(row);
  return digest;
}

TEST(RowDigest, TheSameRowsInAnyOrderGiveTheSameDigest) {
  std::vector<store::RecordVersion> records;
  std::vector<store::IndexRow> index;
  for (int i = 0; i < 2000; ++i) {
    records.push_back(record(i));
    index.push_back(index_row(i));
  }
  const auto in_order = digest_of(records);
  std::mt19937 shuffle(7);
  std::shuffle(records.begin(), records.end(), shuffle);
  std::shuffle(index.begin(), index.end(), shuffle);
  EXPECT_EQ(digest_of(records), in_order);
  EXPECT_EQ(in_order.rows(), 2000);
  EXPECT_EQ(digest_of(index), digest_of(std::vector(index.rbegin(), index.rend())));
}

TEST(RowDigest, AnyChangedDroppedOrRepeatedRowChangesIt) {
  std::vector<store::RecordVersion> records;
  for (int i = 0; i < 50; ++i) records.push_back(record(i));
  const auto original = digest_of(records);
  const std::vector<void (*)(store::RecordVersion&)> changes = {
      [](store::RecordVersion& r) { r.partition += "x"; },
      [](store::RecordVersion& r) { r.type = "Observatio"; },
      [](store::RecordVersion& r) { r.id += "0"; },
      [](store::RecordVersion& r) { ++r.version; },
      [](store::RecordVersion& r) { ++r.sequence; },
      [](store::RecordVersion& r) { ++r.recorded_at_ms; },
      [](store::RecordVersion& r) { r.deleted = !r.deleted; },
      [](store::RecordVersion& r) { r.payload.back() ^= 1; },
      [](store::RecordVersion& r) { r.payload.push_back(0); },
  };
  for (std::size_t c = 0; c < changes.size(); ++c) {
    auto changed = records;
    changes[c](changed[17]);
    EXPECT_NE(digest_of(changed), original) << "change " << c;
  }
  auto dropped = records;
  dropped.erase(dropped.begin() + 3);
  EXPECT_NE(digest_of(dropped), original);
  auto repeated = records;
  repeated.push_back(records[3]);
  EXPECT_NE(digest_of(repeated), original);
  // Fields do not run into each other: moving a byte from one to the next is a change.
  store::RecordVersion a = record(1);
  store::RecordVersion b = record(1);
  a.type = "Observation";
  a.id = "x1";
  b.type = "Observationx";
  b.id = "1";
  EXPECT_NE(digest_of(std::vector{a}), digest_of(std::vector{b}));
  // A record and an index row are never taken for one another.
  RowDigest index;
  index.add(index_row(1));
  EXPECT_NE(index, digest_of(std::vector{record(1)}));
}

}  // namespace
}  // namespace kavach::backup
