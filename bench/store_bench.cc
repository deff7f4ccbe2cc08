// The SQLite store's write path on its own, without HTTP, validation or sealing: what bounds
// transaction ingest and creates (bench/RESULTS.md). Batches of 100 Observation-like records,
// each with the eight index entries an Observation leaves (subject, code, category, status, four
// date buckets), committed durably by many threads at once so that commits group as they do
// under the server, with the index journal merged as it fills.
//
// Index values are SHA-256 digests of realistic texts (a blind-index tag is a keyed hash of the
// same size), so equal values share a tag as they do in a real store: one patient's records share
// their subject tag, a few hundred codes and dates spread the rest.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include <fmt/format.h>

#include "crypto/sha256.h"
#include "scratch_dir.h"
#include "store/store_factory.h"

namespace kavach::store {
namespace {

using bench::ScratchDir;

IndexEntry tag(const std::string& name, const std::string& value) {
  const auto digest =
      crypto::sha256(std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
  return IndexEntry{name, Bytes(digest.begin(), digest.end())};
}

constexpr int kRecordsPerBatch = 100;
constexpr std::size_t kPayloadBytes = 1200;

// One transaction's worth of new Observations of one patient.
WriteBatch observations(std::mt19937_64& random, std::int64_t& serial) {
  WriteBatch batch;
  const std::string patient = fmt::format("{:032x}", random() % 100'000);
  for (int i = 0; i < kRecordsPerBatch; ++i) {
    RecordWrite write;
    write.record.partition = patient;
    write.record.type = "Observation";
    // As the server's ids: creation order first, then random digits.
    write.record.id = fmt::format("{:012x}{:020x}", serial++, random() % 1'000'000'000'000);
    write.record.version = 1;
    write.record.recorded_at_ms = 1'764'000'000'000 + serial;
    write.record.payload.resize(kPayloadBytes);
    for (auto& byte : write.record.payload) byte = static_cast<std::uint8_t>(random());
    write.expected_version = kNoVersion;
    const auto code = fmt::format("{}-{}", 1000 + random() % 300, random() % 10);
    const auto category = std::string(random() % 3 == 0 ? "laboratory" : "vital-signs");
    const int year = 2021 + static_cast<int>(random() % 5);
    const int month = 1 + static_cast<int>(random() % 12);
    const int day = 1 + static_cast<int>(random() % 28);
    write.index = {tag("subject", "Patient/" + patient),
                   tag("code", code),
                   tag("category", category),
                   tag("status", "final"),
                   tag("date", fmt::format("sX{}", year / 10)),
                   tag("date", fmt::format("sY{}", year)),
                   tag("date", fmt::format("sM{}-{:02}", year, month)),
                   tag("date", fmt::format("sD{}-{:02}-{:02}", year, month, day))};
    batch.records.push_back(std::move(write));
  }
  return batch;
}

struct StoreFixture {
  ScratchDir dir;
  std::unique_ptr<Store> store = *open_store("sqlite:" + (dir.path() / "store.db").string());
};

// Sixteen writers, as the benchmark's 32 connections leave about that many commits waiting.
void BM_CommitIndexedRecords(benchmark::State& state) {
  static StoreFixture* fixture = nullptr;
  if (state.thread_index() == 0) fixture = new StoreFixture();
  std::mt19937_64 random(static_cast<std::uint64_t>(state.thread_index()) + 1);
  std::int64_t serial = static_cast<std::int64_t>(state.thread_index()) << 40;
  std::int64_t records = 0;
  for (auto _ : state) {
    auto batch = observations(random, serial);
    if (!fixture->store->commit(std::move(batch))) state.SkipWithError("commit failed");
    records += kRecordsPerBatch;
  }
  state.SetItemsProcessed(records);
  if (state.thread_index() == 0) {
    delete fixture;
    fixture = nullptr;
  }
}
BENCHMARK(BM_CommitIndexedRecords)->Threads(16)->UseRealTime()->MinTime(10.0);

}  // namespace
}  // namespace kavach::store

BENCHMARK_MAIN();
