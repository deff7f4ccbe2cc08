// A node's store, vault and documents for the guard's tests, with a manual clock.
#pragma once

#include <gtest/gtest.h>

#include "crypto/key_ring.h"
#include "guard/access_guard.h"
#include "store/store_factory.h"
#include "support/temp_dir.h"
#include "vault/key_vault.h"
#include "vault/record_sealer.h"
#include "vault/sealed_documents.h"

namespace kavach::guard {

class RecordingNotifier final : public AlertNotifier {
 public:
  void notify(const Alert& alert) override { alerts.push_back(alert); }
  std::vector<Alert> alerts;
};

class GuardFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ring_ = std::make_unique<crypto::KeyRing>(*crypto::KeyRing::create(dir_.path() / "node.key"));
    store_ = *store::open_store("sqlite:" + (dir_.path() / "store.db").string());
    keys_ = std::make_unique<vault::KeyVault>(*store_, *ring_, clock_);
    sealer_ = std::make_unique<vault::RecordSealer>(*keys_);
    documents_ = std::make_unique<vault::SealedDocuments>(*store_, *sealer_, clock_);
    alerts_ = std::make_unique<AlertBook>(*documents_, clock_, &metrics_, &notifier_);
  }

  testing::TempDir dir_;
  ManualClock clock_{TimePoint{std::chrono::seconds{1'800'000'000}}};
  Metrics metrics_;
  RecordingNotifier notifier_;
  std::unique_ptr<crypto::KeyRing> ring_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<vault::KeyVault> keys_;
  std::unique_ptr<vault::RecordSealer> sealer_;
  std::unique_ptr<vault::SealedDocuments> documents_;
  std::unique_ptr<AlertBook> alerts_;
};

}  // namespace kavach::guard
