// A fixture for the audit log's tests: a SQLite store with a vault, entries appended in batches
// and SQL run behind the store's back, as an attacker with access to the file could.
#pragma once

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdlib>

#include "audit/audit_log.h"
#include "crypto/key_ring.h"
#include "store/store_factory.h"
#include "support/temp_dir.h"

namespace kavach::audit {

inline std::vector<ProofElement> elements(const std::vector<Hash>& proof) {
  std::vector<ProofElement> out;
  for (const auto& hash : proof) out.emplace_back(hash.begin(), hash.end());
  return out;
}

class AuditLogFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ring_ = std::make_unique<crypto::KeyRing>(*crypto::KeyRing::create(dir_.path() / "node.key"));
    open_store();
  }
  void open_store() {
    log_.reset();
    keys_.reset();
    store_.reset();
    store_ = *store::open_store("sqlite:" + database().string());
    keys_ = std::make_unique<vault::KeyVault>(*store_, *ring_, clock_);
  }
  Result<std::unique_ptr<AuditLog>> open_log(AuditLogOptions options = {}) {
    ASSIGN_OR_RETURN(auto signer, node_audit_signer(*keys_, ""));
    return AuditLog::open(*store_, std::move(signer), clock_, options);
  }
  std::filesystem::path database() const { return dir_.path() / "store.db"; }

  AuditEntry entry(int n) {
    AuditEntry entry;
    entry.time_ms = 1000 + n;
    entry.action = Action::kRecordRead;
    entry.actor_id = fmt::format("client-{}", n % 7);
    entry.subject = fmt::format("patient-{}", n % 5);
    return entry;
  }
  // Appends entries first .. first + count - 1, in batches of up to 100; returns their leaf hashes.
  std::vector<Hash> append(int first, int count) {
    std::vector<Hash> leaves;
    for (int done = 0; done < count;) {
      std::vector<AuditEntry> batch;
      for (; done < count && batch.size() < 100; ++done) batch.push_back(entry(first + done));
      EXPECT_TRUE(record_entries(*store_, batch));
      for (const auto& e : batch) leaves.push_back(leaf_hash(*encode_entry(e)));
    }
    return leaves;
  }
  // Runs SQL on the SQLite file behind the store's back, as an attacker with file access could.
  void tamper(const std::string& sql) {
    const auto command = fmt::format("sqlite3 '{}' \"{}\" 2>&1", database().string(), sql);
    ASSERT_EQ(std::system(command.c_str()), 0) << sql;
  }

  testing::TempDir dir_;
  ManualClock clock_{TimePoint{std::chrono::seconds{1'700'000'000}}};
  std::unique_ptr<crypto::KeyRing> ring_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<vault::KeyVault> keys_;
  std::unique_ptr<AuditLog> log_;
};

}  // namespace kavach::audit
