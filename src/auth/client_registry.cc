#include "auth/client_registry.h"

#include <algorithm>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/limits.h"
#include "crypto/encoding.h"
#include "crypto/password_hash.h"
#include "crypto/secret_bytes.h"

namespace kavach::auth {
namespace {

constexpr std::size_t kClientIdBytes = 12;
constexpr std::size_t kClientSecretBytes = 32;

bool is_client_id(std::string_view id) {
  return id.size() == 2 + kClientIdBytes * 2 && id.starts_with("c-") &&
         std::all_of(id.begin() + 2, id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

tl::unexpected<Error> bad_credentials() {
  return make_error(ErrorCode::kUnauthenticated, "the client id or secret is wrong");
}

}  // namespace

Result<NewClient> ClientRegistry::add(std::string_view name, std::string_view scopes,
                                      std::string_view registered_by) {
  if (name.empty() || name.size() > limits::kClientNameBytesMax) {
    return make_error(
        ErrorCode::kInvalidArgument,
        fmt::format("a client name has 1 to {} characters", limits::kClientNameBytesMax));
  }
  ASSIGN_OR_RETURN(const auto scope_set, ScopeSet::parse(scopes));
  if (scope_set.empty()) return make_error(ErrorCode::kInvalidArgument, "a client needs a scope");

  NewClient created;
  created.client_id = "c-" + crypto::to_hex(crypto::SecretBytes::random(kClientIdBytes).view());
  created.client_secret =
      crypto::to_base64url(crypto::SecretBytes::random(kClientSecretBytes).view());
  ASSIGN_OR_RETURN(const auto secret_hash, crypto::hash_password(created.client_secret));

  const boost::json::object document{{"name", std::string(name)},
                                     {"scopes", scope_set.text()},
                                     {"secret_hash", secret_hash},
                                     {"active", true}};
  store::RecordWrite write;
  write.record.type = std::string(kClientRecordType);
  write.record.id = created.client_id;
  write.record.version = 1;
  write.record.recorded_at_ms = unix_ms(clock_.now());
  RETURN_IF_ERROR(sealer_.seal(write.record, boost::json::serialize(document)));
  write.expected_version = store::kNoVersion;
  audit::AuditEntry entry;
  entry.time_ms = write.record.recorded_at_ms;
  entry.action = audit::Action::kClientRegister;
  entry.basis = audit::Basis::kOperator;
  entry.actor_kind = audit::ActorKind::kOperator;
  entry.actor_id = std::string(registered_by);
  entry.resource_type = std::string(kClientRecordType);
  entry.resource_id = created.client_id;
  store::WriteBatch batch;
  RETURN_IF_ERROR(audit::append_entry(batch, entry));
  batch.records.push_back(std::move(write));
  RETURN_IF_ERROR(store_.commit(std::move(batch)));
  return created;
}

Result<Client> ClientRegistry::authenticate(std::string_view client_id,
                                            std::string_view client_secret, std::string_view peer) {
  if (!peer_attempts_.try_acquire(peer)) {
    return make_error(ErrorCode::kResourceExhausted,
                      "too many token requests from this address; retry in a few seconds");
  }
  if (!is_client_id(client_id)) return bad_credentials();
  if (!client_attempts_.try_acquire(client_id)) {
    return make_error(ErrorCode::kResourceExhausted,
                      "too many token requests for this client; retry in a few seconds");
  }
  if (checks_running_.fetch_add(1) >= limits::kSecretChecksConcurrentMax) {
    checks_running_.fetch_sub(1);
    return make_error(ErrorCode::kResourceExhausted, "the node is busy; retry in a moment");
  }
  auto checked = check_secret(client_id, client_secret);
  checks_running_.fetch_sub(1);
  return checked;
}

Result<Client> ClientRegistry::check_secret(std::string_view client_id,
                                            std::string_view client_secret) {
  ASSIGN_OR_RETURN(const auto stored, read_client(client_id));
  if (!stored || !stored->client.active ||
      !crypto::verify_password(stored->secret_hash, client_secret)) {
    return bad_credentials();
  }
  return stored->client;
}

Result<Client> ClientRegistry::client(std::string_view client_id) {
  if (!is_client_id(client_id)) return make_error(ErrorCode::kNotFound, "no such client");
  ASSIGN_OR_RETURN(const auto stored, read_client(client_id));
  if (!stored || !stored->client.active) return make_error(ErrorCode::kNotFound, "no such client");
  return stored->client;
}

Result<std::optional<ClientRegistry::StoredClient>> ClientRegistry::read_client(
    std::string_view client_id) {
  ASSIGN_OR_RETURN(const auto record,
                   store_.read_current(std::string(kClientRecordType), std::string(client_id)));
  if (!record || record->deleted) return std::nullopt;
  ASSIGN_OR_RETURN(const auto plaintext, sealer_.open(*record));

  boost::system::error_code parse_error;
  const auto document = boost::json::parse(plaintext, parse_error);
  const auto* object = document.if_object();
  if (parse_error || object == nullptr) {
    return make_error(ErrorCode::kDataLoss, "a stored client record is malformed");
  }
  const auto* secret_hash = object->if_contains("secret_hash");
  const auto* scopes = object->if_contains("scopes");
  const auto* name = object->if_contains("name");
  const auto* active = object->if_contains("active");
  if (!secret_hash || !secret_hash->is_string() || !scopes || !scopes->is_string() || !name ||
      !name->is_string() || !active || !active->is_bool()) {
    return make_error(ErrorCode::kDataLoss, "a stored client record is malformed");
  }
  ASSIGN_OR_RETURN(auto scope_set, ScopeSet::parse(scopes->as_string()));
  return StoredClient{Client{std::string(client_id), std::string(name->as_string()),
                             std::move(scope_set), active->as_bool()},
                      std::string(secret_hash->as_string())};
}

}  // namespace kavach::auth
