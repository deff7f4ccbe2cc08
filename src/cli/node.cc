#include "cli/node.h"

#include <pwd.h>
#include <unistd.h>

#include <array>

#include <fmt/format.h>

#include "common/limits.h"
#include "crypto/keyed_hash.h"
#include "guard/access_guard.h"
#include "store/forwarding_store.h"
#include "store/instrumented_store.h"
#include "store/store_factory.h"

namespace kavach::cli {
namespace {

// The key file must not live in the data directory: a backup or a stolen copy of the data would
// then carry the key that opens it.
Status check_key_outside_data(const std::filesystem::path& key_file,
                              const std::filesystem::path& data_dir) {
  std::error_code error;
  const auto key = std::filesystem::weakly_canonical(key_file, error);
  const auto data = std::filesystem::weakly_canonical(data_dir, error);
  const auto [data_end, key_at] = std::mismatch(data.begin(), data.end(), key.begin(), key.end());
  if (data_end == data.end()) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("the key file {} is inside the data directory {}; keep it apart",
                                  key_file.string(), data_dir.string()));
  }
  return {};
}

}  // namespace

std::string operator_id() {
  passwd entry{};
  passwd* found = nullptr;
  std::array<char, 4096> buffer{};
  if (getpwuid_r(geteuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found) {
    return fmt::format("os:{}", found->pw_name);
  }
  return fmt::format("os:uid-{}", geteuid());
}

audit::AuditEntry Node::operator_entry(audit::Action action) const {
  audit::AuditEntry entry;
  entry.time_ms = unix_ms(clock_.now());
  entry.action = action;
  entry.basis = audit::Basis::kOperator;
  entry.actor_kind = audit::ActorKind::kOperator;
  entry.actor_id = operator_id();
  return entry;
}

Result<audit::AuditLog*> Node::open_audit_log(std::string origin, audit::AuditLogOptions options) {
  ASSIGN_OR_RETURN(auto signer, audit::node_audit_signer(*keys_, std::move(origin)));
  ASSIGN_OR_RETURN(audit_log_, audit::AuditLog::open(*store_, std::move(signer), clock_, options));
  return audit_log_.get();
}

Result<audit::Witness*> Node::open_witness(std::string name) {
  ASSIGN_OR_RETURN(auto cosigner, audit::node_witness_signer(*keys_, std::move(name)));
  witness_ = std::make_unique<audit::Witness>(*store_, *sealer_, std::move(cosigner), clock_);
  return witness_.get();
}

Result<ConsentManagerServices*> Node::open_consent_manager(const config::ConsentOptions& options) {
  auto services = std::make_unique<ConsentManagerServices>();
  const auto outbox = options.notification_outbox.empty() ? data_dir_ / "notifications.jsonl"
                                                          : options.notification_outbox;
  services->notifier = std::make_unique<consent::OutboxFileNotifier>(outbox, clock_);
  services->codes =
      std::make_unique<consent::OneTimeCodes>(*documents_, *keys_, *services->notifier, clock_);
  consent::AccountLimits account_limits;
  account_limits.session_lifetime = options.session_lifetime;
  services->accounts = std::make_unique<consent::PatientAccounts>(
      *documents_, *keys_, *services->codes, options.cm_id, clock_, account_limits);
  ASSIGN_OR_RETURN(auto signer, consent::consent_signer(*keys_));
  services->signer = std::make_unique<consent::ArtefactSigner>(std::move(signer));
  consent::ConsentLimits consent_limits;
  consent_limits.request_lifetime = options.request_lifetime;
  consent_limits.break_glass_max = options.break_glass_max;
  consent_limits.break_glass_per_day = options.break_glass_per_day;
  services->manager = std::make_unique<consent::ConsentManager>(
      *documents_, *services->accounts, *registry_, *services->signer, *services->notifier,
      options.cm_id, clock_, consent_limits);
  consent_ = std::move(services);
  return consent_.get();
}

Result<std::unique_ptr<Node>> Node::open(const NodeOptions& options) {
  if (options.data_dir.empty())
    return make_error(ErrorCode::kInvalidArgument, "--data is required");
  if (options.key_file.empty())
    return make_error(ErrorCode::kInvalidArgument, "--key-file is required");
  RETURN_IF_ERROR(check_key_outside_data(options.key_file, options.data_dir));
  std::error_code error;
  std::filesystem::create_directories(options.data_dir, error);
  if (error) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("cannot create the data directory {}: {}",
                                  options.data_dir.string(), error.message()));
  }
  std::filesystem::permissions(options.data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, error);

  std::unique_ptr<Node> node(new Node());
  ASSIGN_OR_RETURN(auto ring, crypto::KeyRing::load(options.key_file));
  node->key_ring_ = std::make_unique<crypto::KeyRing>(std::move(ring));
  const std::string url =
      options.store_url.empty() ? store::default_store_url(options.data_dir) : options.store_url;
  ASSIGN_OR_RETURN(auto store, store::open_store(url, {options.postgres_pool_size}));
  if (options.read_only) store = std::make_unique<store::ReadOnlyStore>(std::move(store));
  auto watched = std::make_unique<guard::WatchedStore>(std::move(store));
  node->watched_store_ = watched.get();
  store = std::move(watched);
  if (options.metrics != nullptr) {
    store = std::make_unique<store::InstrumentedStore>(std::move(store), *options.metrics);
  }
  node->store_ = std::move(store);
  node->keys_ = std::make_unique<vault::KeyVault>(*node->store_, *node->key_ring_, node->clock_);
  node->sealer_ = std::make_unique<vault::RecordSealer>(*node->keys_);
  node->clients_ =
      std::make_unique<auth::ClientRegistry>(*node->store_, *node->sealer_, node->clock_);
  ASSIGN_OR_RETURN(auto token_key, node->keys_->key(std::string(vault::kNodeTokenKey)));
  node->web_session_key_ = crypto::derive_subkey(token_key, 1, "kvwebcsr");
  node->tokens_ = std::make_unique<auth::TokenService>(std::move(token_key), node->clock_,
                                                       limits::kAccessTokenLifetime);
  node->resources_ =
      std::make_unique<fhir::ResourceService>(*node->store_, *node->sealer_, node->clock_);
  node->documents_ =
      std::make_unique<vault::SealedDocuments>(*node->store_, *node->sealer_, node->clock_);
  node->registry_ = std::make_unique<consent::FacilityRegistry>(*node->documents_);
  node->data_dir_ = options.data_dir;
  return node;
}

}  // namespace kavach::cli
