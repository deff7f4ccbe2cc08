// ClientRegistry: machine clients (hospital systems, lab interfaces, the CLI's own tools) that
// authenticate with OAuth 2.0 client credentials. Each client is a versioned record of type
// "_Client", sealed under the node records key like any other record; its secret is kept only as an
// Argon2id hash and shown once, when the client is added.
// Thread-safety: safe from any thread.
#pragma once

#include <atomic>

#include <optional>
#include <string>
#include <string_view>

#include "auth/attempt_limiter.h"
#include "auth/scopes.h"
#include "common/clock.h"
#include "common/error.h"
#include "store/store.h"
#include "vault/record_sealer.h"

namespace kavach::auth {

inline constexpr std::string_view kClientRecordType = "_Client";

struct NewClient {
  std::string client_id;
  std::string client_secret;  // shown once; only its hash is stored
};

struct Client {
  std::string client_id;
  std::string name;
  ScopeSet scopes;
  bool active = true;
};

// How often token requests may check a secret: per caller address and per client id.
struct SecretCheckLimits {
  AttemptLimits per_peer{20, 2, 10'000};
  AttemptLimits per_client{10, 1, 10'000};
};

class ClientRegistry {
 public:
  ClientRegistry(store::Store& store, vault::RecordSealer& sealer, const Clock& clock,
                 SecretCheckLimits limits = {})
      : store_(store),
        sealer_(sealer),
        clock_(clock),
        peer_attempts_(limits.per_peer, clock),
        client_attempts_(limits.per_client, clock) {}

  // `registered_by` names the operator, for the audit entry that commits with the client.
  Result<NewClient> add(std::string_view name, std::string_view scopes,
                        std::string_view registered_by);
  // kUnauthenticated, with one message for every failure, when the id or secret is wrong.
  // kResourceExhausted, before any secret is checked, when `peer` (the caller's address) or the
  // client id has tried too often, or too many checks are running at once: each check costs an
  // Argon2id hash with 64 MiB.
  Result<Client> authenticate(std::string_view client_id, std::string_view client_secret,
                              std::string_view peer);
  // The active client with this id (no secret checked: for a caller already authenticated by a
  // token, such as a web session naming its user); kNotFound when there is none.
  Result<Client> client(std::string_view client_id);

 private:
  struct StoredClient {
    Client client;
    std::string secret_hash;
  };
  Result<Client> check_secret(std::string_view client_id, std::string_view client_secret);
  Result<std::optional<StoredClient>> read_client(std::string_view client_id);

  store::Store& store_;
  vault::RecordSealer& sealer_;
  const Clock& clock_;
  AttemptLimiter peer_attempts_;
  AttemptLimiter client_attempts_;
  std::atomic<std::size_t> checks_running_{0};
};

}  // namespace kavach::auth
