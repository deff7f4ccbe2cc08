// ServeConfig: everything `kavach serve` needs, read from a TOML file (--config) and overridden by
// flags. validate() refuses a configuration that would start an unsafe or broken node, with a
// message naming the key and the problem; unknown keys in the file are refused too, so a typo never
// silently falls back to a default.
//
// TOML layout (every key optional except where a flag supplies it):
//   listen = "127.0.0.1:8080"
//   data_dir = "/var/lib/kavach"
//   key_file = "/etc/kavach/node.key"
//   store = "sqlite:/var/lib/kavach/kavach.db"     # or "postgresql://..."
//   roles = ["cm", "hip", "hiu"]
//   insecure_http = false
//   log_level = "info"
//   [tls]  cert = "...", key = "...", client_ca, client_cert, client_key (mutual TLS)
//   [http] io_threads, worker_threads, max_connections, max_body_bytes, max_header_bytes,
//          read_timeout_ms, idle_timeout_ms,
//          reads_on_io_threads = true  # reads, one-page searches (fhir::is_one_page_search) and
//                                      # small creates; SQLite only; false for a database much
//                                      # larger than RAM
//   [store_options] postgres_pool_size
//   [consent] cm_id = "sbx"               # the CM's id and ABHA address suffix
//             facility_id = "aiims-delhi"  # this node's facility id as a HIP/HIU
//             cm_key = "<base64url>"       # the CM's Ed25519 key, for a HIP whose CM is elsewhere
//             cm_url = "https://cm..."     # where that CM answers (to confirm consents)
//             notification_outbox = "..."  # where SMS notices are written (default: in data_dir)
//             request_lifetime_hours = 168, session_lifetime_minutes = 120
//             break_glass_hours = 24, break_glass_per_day = 3  # emergency access limits
//             ca_file = "..."              # CAs trusted for callback URLs' TLS
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/limits.h"
#include "guard/guard_policy.h"

namespace kavach::config {

enum class Role { kConsentManager, kProvider, kUser };

struct ListenAddress {
  std::string host;  // an IP literal or "localhost"
  std::uint16_t port = 0;
  bool is_loopback() const;
};

struct HttpOptions {
  std::size_t io_threads = 0;  // 0: one per core
  std::size_t worker_threads = 16;
  // Reads of one record on the SQLite store run on the I/O threads (http::Work::kBrief), which
  // saves two thread hand-offs a read. Off for a database so much larger than memory that reads
  // wait on the disk: a few I/O threads would then read one page at a time, where the workers
  // read many at once. PostgreSQL reads always go to the workers.
  bool reads_on_io_threads = true;
  std::size_t max_connections = 1024;
  std::size_t max_body_bytes = limits::kBodyBytesMax;
  std::size_t max_header_bytes = limits::kHeaderBytesMax;
  std::chrono::milliseconds read_timeout = limits::kReadTimeout;
  std::chrono::milliseconds idle_timeout = limits::kIdleTimeout;
};

// A witness that cosigns this node's audit checkpoints.
struct WitnessPeer {
  std::string url;  // its add-checkpoint URL (https://, or http:// on loopback)
  std::string key;  // its cosigner verifier key
};

struct AuditOptions {
  std::string origin;        // the log's origin line; empty: "kavach/<key fingerprint>"
  std::string witness_name;  // this node's cosigner name; empty: "kavach-witness/<fingerprint>"
  std::vector<WitnessPeer> witnesses;
  std::filesystem::path ca_file;  // CAs trusted for witnesses' TLS; empty: the system's
};

struct ConsentOptions {
  std::string cm_id = "sbx";
  std::string facility_id;
  std::string cm_key;
  std::string cm_url;
  // This node's URL as other nodes reach it (the HIU's data push URL, the HIP's bundle fullUrls);
  // empty: the listen address.
  std::string public_url;
  // A HIP sends a document whose ciphertext is larger than this as a link entry.
  std::size_t link_entry_bytes = 4 * 1024 * 1024;
  std::filesystem::path notification_outbox;  // empty: <data_dir>/notifications.jsonl
  std::chrono::hours request_lifetime{24 * 7};
  std::chrono::minutes session_lifetime{120};
  std::chrono::hours break_glass_max{24};  // at most 24
  std::size_t break_glass_per_day = 3;
  std::filesystem::path ca_file;
};

// Emergency mode (issue 7, docs/backup.md): serve records without writing any; with `from_backup`,
// first restore the latest snapshot of that repository (a backup server's URL or a directory) into
// the empty data directory, checked as `kavach restore` checks it.
struct EmergencyOptions {
  bool read_only = false;
  std::string from_backup;
  std::filesystem::path backup_key;
  std::filesystem::path backup_token_file;
  std::filesystem::path backup_ca_file;
};

// The web app (docs/web.md): served at /app/ from `root`, or, when empty, from where the build
// or the install put it (beside the binary, then <prefix>/share/kavach/app).
struct WebOptions {
  bool enabled = true;
  std::filesystem::path root;
};

struct ServeConfig {
  ListenAddress listen{"127.0.0.1", 8080};
  std::filesystem::path data_dir;
  std::filesystem::path key_file;
  std::string store_url;  // empty: SQLite inside data_dir
  std::set<Role> roles{Role::kConsentManager, Role::kProvider, Role::kUser};
  bool insecure_http = false;
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  // Mutual TLS between nodes: the CA other nodes' client certificates must chain to (calls from
  // nodes are then refused without one), and the certificate this node presents in its calls.
  std::filesystem::path tls_client_ca;
  std::filesystem::path tls_client_cert;
  std::filesystem::path tls_client_key;
  std::string log_level = "info";
  AuditOptions audit;
  ConsentOptions consent;
  HttpOptions http;
  std::size_t postgres_pool_size = 8;
  EmergencyOptions emergency;
  guard::GuardPolicy guard;
  WebOptions web;

  bool tls_enabled() const { return !tls_cert.empty(); }
};

// Reads a TOML file into `config`, keeping the values it does not mention.
Status load_toml_file(const std::filesystem::path& path, ServeConfig& config);
// Parses TOML text (for tests); `origin` names the source in messages.
Status load_toml_text(std::string_view text, std::string_view origin, ServeConfig& config);

Result<ListenAddress> parse_listen_address(std::string_view text);
Result<std::set<Role>> parse_roles(std::string_view comma_separated);
std::string roles_text(const std::set<Role>& roles);

// Checks the whole configuration; the first problem found is returned, naming its key.
Status validate(const ServeConfig& config);

}  // namespace kavach::config
