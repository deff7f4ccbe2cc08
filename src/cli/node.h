// Node: the composition root shared by `kavach serve` and the operator commands. It opens the key
// file, the store and the domain services on top of them, in dependency order, and owns them all.
// Nothing here holds business rules; it only wires.
// Thread-safety: the services it hands out are themselves thread-safe.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "audit/audit_entry.h"
#include "audit/audit_log.h"
#include "audit/witness.h"
#include "auth/client_registry.h"
#include "auth/token_service.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "config/serve_config.h"
#include "consent/consent_manager.h"
#include "consent/facility_registry.h"
#include "consent/notifier.h"
#include "consent/one_time_codes.h"
#include "consent/patient_accounts.h"
#include "crypto/key_ring.h"
#include "fhir/resource_service.h"
#include "store/store.h"
#include "vault/key_vault.h"
#include "vault/record_sealer.h"
#include "vault/sealed_documents.h"

namespace kavach::guard {
class WatchedStore;
}

namespace kavach::cli {

struct NodeOptions {
  std::filesystem::path data_dir;
  std::filesystem::path key_file;
  std::string store_url;  // empty: SQLite inside data_dir
  std::size_t postgres_pool_size = 8;
  Metrics* metrics = nullptr;  // when set, store calls are timed into it
  bool read_only = false;      // refuse record and key writes (store/read_only_store.h)
};

// The consent manager's services, owned together (a node with the cm role).
struct ConsentManagerServices {
  std::unique_ptr<consent::Notifier> notifier;
  std::unique_ptr<consent::OneTimeCodes> codes;
  std::unique_ptr<consent::PatientAccounts> accounts;
  std::unique_ptr<consent::ArtefactSigner> signer;
  std::unique_ptr<consent::ConsentManager> manager;
};

// Who runs this command at the node's console, for audit entries: "os:<user name>".
std::string operator_id();

class Node {
 public:
  static Result<std::unique_ptr<Node>> open(const NodeOptions& options);

  // Opens the audit log (restoring and integrating it); `origin` empty for the node's default.
  Result<audit::AuditLog*> open_audit_log(std::string origin, audit::AuditLogOptions options = {});
  // The witness that cosigns other nodes' checkpoints; `name` empty for the node's default.
  Result<audit::Witness*> open_witness(std::string name);
  // The consent manager's services; notices go to the outbox file in `options` (default
  // <data_dir>/notifications.jsonl).
  Result<ConsentManagerServices*> open_consent_manager(const config::ConsentOptions& options);
  // An entry for an operator action, timed now.
  audit::AuditEntry operator_entry(audit::Action action) const;

  crypto::KeyRing& key_ring() { return *key_ring_; }
  store::Store& store() { return *store_; }
  // The store's audit tap, for the anomaly guard (serve sets its observer).
  guard::WatchedStore& watched_store() { return *watched_store_; }
  vault::KeyVault& keys() { return *keys_; }
  auth::ClientRegistry& clients() { return *clients_; }
  const auth::TokenService& tokens() { return *tokens_; }
  // The key of the web app's CSRF tokens (http/web_session.h), derived from the token key.
  const crypto::SecretBytes& web_session_key() const { return web_session_key_; }
  fhir::ResourceService& resources() { return *resources_; }
  vault::SealedDocuments& documents() { return *documents_; }
  vault::RecordSealer& sealer() { return *sealer_; }
  consent::FacilityRegistry& registry() { return *registry_; }
  const Clock& clock() const { return clock_; }

 private:
  Node() = default;
  SystemClock clock_;
  std::unique_ptr<crypto::KeyRing> key_ring_;
  std::unique_ptr<store::Store> store_;
  guard::WatchedStore* watched_store_ = nullptr;  // inside store_
  std::unique_ptr<vault::KeyVault> keys_;
  std::unique_ptr<vault::RecordSealer> sealer_;
  std::unique_ptr<auth::ClientRegistry> clients_;
  std::unique_ptr<auth::TokenService> tokens_;
  crypto::SecretBytes web_session_key_;
  std::unique_ptr<fhir::ResourceService> resources_;
  std::unique_ptr<vault::SealedDocuments> documents_;
  std::unique_ptr<consent::FacilityRegistry> registry_;
  std::unique_ptr<ConsentManagerServices> consent_;
  std::filesystem::path data_dir_;
  std::unique_ptr<audit::AuditLog> audit_log_;
  std::unique_ptr<audit::Witness> witness_;
};

}  // namespace kavach::cli
