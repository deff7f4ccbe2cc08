// The audit log's two targets (issue 6): at least 100,000 appends per second batched into the
// tree on a 2-core machine, and an inclusion proof in under 1 ms at ten million entries.
//
// Appends go through the real path: encoded entries committed to a SQLite store (WAL,
// synchronous=FULL) and integrated into the tiled tree with its tiles stored and a checkpoint
// signed. The proof benchmark builds a ten-million-leaf tree once, stores its tiles in SQLite and
// then asks for proofs of random leaves, reading tiles from the store on every request (no cache,
// the worst case the server sees).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "audit/audit_log.h"
#include "crypto/key_ring.h"
#include "scratch_dir.h"
#include "store/store_factory.h"

namespace kavach::audit {
namespace {

using bench::ScratchDir;

AuditEntry sample_entry(std::int64_t n) {
  AuditEntry entry;
  entry.time_ms = 1'764'000'000'000 + n;
  entry.action = Action::kRecordRead;
  entry.actor_id = "c-3f9a1c0e55d2b7a4";
  entry.subject = "5f0c2a9e" + std::to_string(n % 100'000);
  entry.resource_type = "Observation";
  entry.resource_id = "obs-" + std::to_string(n);
  entry.resource_version = 1;
  entry.content_hash.assign(32, static_cast<std::uint8_t>(n));
  return entry;
}

// A node's store, vault and audit log in a scratch directory.
struct LogFixture {
  LogFixture() {
    ring = std::make_unique<crypto::KeyRing>(*crypto::KeyRing::create(dir.path() / "node.key"));
    store = *store::open_store("sqlite:" + (dir.path() / "store.db").string());
    keys = std::make_unique<vault::KeyVault>(*store, *ring, clock);
    log = *AuditLog::open(*store, *node_audit_signer(*keys, ""), clock);
  }
  ScratchDir dir;
  SystemClock clock;
  std::unique_ptr<crypto::KeyRing> ring;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<vault::KeyVault> keys;
  std::unique_ptr<AuditLog> log;
};

// Batches of `batch` entries per commit, ten commits per checkpoint.
void BM_AppendBatchedAndCheckpoint(benchmark::State& state) {
  LogFixture fixture;
  const auto batch_size = static_cast<std::int64_t>(state.range(0));
  std::int64_t n = 0;
  for (auto _ : state) {
    for (int commit = 0; commit < 10; ++commit) {
      store::WriteBatch batch;
      for (std::int64_t i = 0; i < batch_size; ++i) {
        if (!append_entry(batch, sample_entry(n++))) state.SkipWithError("encode failed");
      }
      if (!fixture.store->commit(std::move(batch))) state.SkipWithError("commit failed");
    }
    if (!fixture.log->checkpoint_now()) state.SkipWithError("checkpoint failed");
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(BM_AppendBatchedAndCheckpoint)
    ->Arg(100)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// What a busy server does: many requests each commit one entry, merged by group commit.
void BM_AppendOneEntryPerRequest(benchmark::State& state) {
  static LogFixture* fixture = nullptr;
  if (state.thread_index() == 0) fixture = new LogFixture();
  std::int64_t n = 0;
  // Google Benchmark synchronises threads at the start of the loop.
  for (auto _ : state) {
    const auto entry = sample_entry(n++);
    if (!record_entries(*fixture->store, {&entry, 1})) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(n);
  if (state.thread_index() == 0) {
    (void)fixture->log->checkpoint_now();
    delete fixture;
  }
}
BENCHMARK(BM_AppendOneEntryPerRequest)->Threads(64)->UseRealTime()->MinTime(3.0);

constexpr std::uint64_t kProofTreeSize = 10'000'000;

// A ten-million-leaf tree whose full tiles are stored in SQLite, read back on every use.
struct StoredTree {
  StoredTree() {
    store = *store::open_store("sqlite:" + (dir.path() / "tiles.db").string());
    tree =
        std::make_unique<TiledTree>([this](int level, std::uint64_t index) -> Result<TileHashes> {
          ASSIGN_OR_RETURN(auto tiles,
                           store->read_audit_tiles(level, static_cast<std::int64_t>(index), 1));
          if (tiles.empty() || tiles.front().index != static_cast<std::int64_t>(index)) {
            return make_error(ErrorCode::kDataLoss, "tile missing");
          }
          ASSIGN_OR_RETURN(auto hashes, tile_hashes(tiles.front().hashes));
          return std::make_shared<const std::vector<Hash>>(std::move(hashes));
        });
    std::vector<Hash> leaves;
    constexpr std::uint64_t kChunk = 1 << 20;
    for (std::uint64_t begin = 0; begin < kProofTreeSize; begin += kChunk) {
      leaves.clear();
      for (std::uint64_t i = begin; i < std::min(begin + kChunk, kProofTreeSize); ++i) {
        const auto entry = *encode_entry(sample_entry(static_cast<std::int64_t>(i)));
        leaves.push_back(leaf_hash(entry));
      }
      store::WriteBatch batch;
      batch.audit_tiles = tree->append(leaves);
      if (auto stored = store->commit(std::move(batch)); !stored) {
        std::fprintf(stderr, "storing tiles failed: %s\n", stored.error().message.c_str());
        std::abort();
      }
      tree->forget_completed();
    }
  }
  ScratchDir dir;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<TiledTree> tree;
};

void BM_InclusionProofFromStoredTilesAtTenMillion(benchmark::State& state) {
  static StoredTree stored;
  std::mt19937_64 random(42);
  std::uniform_int_distribution<std::uint64_t> pick(0, kProofTreeSize - 1);
  const auto root = *stored.tree->root();
  for (auto _ : state) {
    const std::uint64_t index = pick(random);
    auto proof = inclusion_proof(kProofTreeSize, index, stored.tree->reader());
    if (!proof) state.SkipWithError("proof failed");
    benchmark::DoNotOptimize(proof);
  }
  // Check once, outside the timing, that the proofs are right.
  const auto index = pick(random);
  const auto leaf = leaf_hash(*encode_entry(sample_entry(static_cast<std::int64_t>(index))));
  const auto proof = inclusion_proof(kProofTreeSize, index, stored.tree->reader());
  std::vector<ProofElement> elements;
  for (const auto& hash : *proof) elements.emplace_back(hash.begin(), hash.end());
  if (!verify_inclusion(index, kProofTreeSize, leaf, elements, root)) {
    state.SkipWithError("a proof did not verify");
  }
}
BENCHMARK(BM_InclusionProofFromStoredTilesAtTenMillion)->Unit(benchmark::kMicrosecond);

// What /audit/proof/inclusion does: a node whose log holds ten million entries, proofs of random
// entries through AuditLog (its tile cache keeps the upper levels; leaf tiles mostly miss).
void BM_AuditLogInclusionProofAtTenMillion(benchmark::State& state) {
  // Destroyed at exit, which removes its scratch directory (about 2 GB).
  static const std::unique_ptr<LogFixture> fixture = [] {
    auto built = std::make_unique<LogFixture>();
    constexpr std::int64_t kBatch = 19'000;
    for (std::int64_t n = 0; n < static_cast<std::int64_t>(kProofTreeSize);) {
      store::WriteBatch batch;
      for (std::int64_t i = 0; i < kBatch && n < static_cast<std::int64_t>(kProofTreeSize); ++i) {
        (void)append_entry(batch, sample_entry(n++));
      }
      if (!built->store->commit(std::move(batch))) std::abort();
      if (n % 1'000'000 < kBatch) (void)built->log->checkpoint_now();
    }
    if (!built->log->checkpoint_now()) std::abort();
    return built;
  }();
  std::mt19937_64 random(7);
  std::uniform_int_distribution<std::uint64_t> pick(0, kProofTreeSize - 1);
  for (auto _ : state) {
    auto proof = fixture->log->inclusion_proof(pick(random), kProofTreeSize);
    if (!proof) state.SkipWithError("proof failed");
    benchmark::DoNotOptimize(proof);
  }
}
BENCHMARK(BM_AuditLogInclusionProofAtTenMillion)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kavach::audit

BENCHMARK_MAIN();
