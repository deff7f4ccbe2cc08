#include "config/serve_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "store/store_factory.h"

namespace kavach::config {
namespace {

tl::unexpected<Error> config_error(std::string_view key, std::string_view problem) {
  return make_error(ErrorCode::kInvalidArgument, fmt::format("config: {}: {}", key, problem));
}

Result<Role> parse_role(std::string_view name) {
  if (name == "cm") return Role::kConsentManager;
  if (name == "hip") return Role::kProvider;
  if (name == "hiu") return Role::kUser;
  return config_error("roles", fmt::format("unknown role '{}' (use cm, hip, hiu)", name));
}

// Reads an optional value of type T at `key`; a value of another type is an error naming the key.
template <class T>
Status read_value(const toml::table& table, std::string_view prefix, std::string_view key, T& out) {
  const auto* node = table.get(key);
  if (node == nullptr) return {};
  const auto full_key = prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key);
  if constexpr (std::is_same_v<T, bool>) {
    if (!node->is_boolean()) return config_error(full_key, "must be true or false");
    out = node->as_boolean()->get();
  } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::filesystem::path>) {
    if (!node->is_string()) return config_error(full_key, "must be a string");
    out = node->as_string()->get();
  } else if constexpr (std::is_same_v<T, std::size_t>) {
    if (!node->is_integer() || node->as_integer()->get() < 0) {
      return config_error(full_key, "must be a non-negative integer");
    }
    out = static_cast<std::size_t>(node->as_integer()->get());
  } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
    if (!node->is_integer() || node->as_integer()->get() <= 0) {
      return config_error(full_key, "must be a positive number of milliseconds");
    }
    out = std::chrono::milliseconds(node->as_integer()->get());
  }
  return {};
}

Status refuse_unknown_keys(const toml::table& table, std::string_view prefix,
                           std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : table) {
    if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
      const auto full_key =
          prefix.empty() ? std::string(key.str()) : fmt::format("{}.{}", prefix, key.str());
      return config_error(full_key, "unknown key");
    }
  }
  return {};
}

Status load_table(const toml::table& root, ServeConfig& config) {
  RETURN_IF_ERROR(refuse_unknown_keys(
      root, "",
      {"listen", "data_dir", "key_file", "store", "roles", "insecure_http", "log_level", "audit",
       "consent", "tls", "http", "store_options", "guard", "web"}));
  if (const auto* listen = root.get("listen")) {
    if (!listen->is_string()) return config_error("listen", "must be a string HOST:PORT");
    ASSIGN_OR_RETURN(config.listen, parse_listen_address(listen->as_string()->get()));
  }
  RETURN_IF_ERROR(read_value(root, "", "data_dir", config.data_dir));
  RETURN_IF_ERROR(read_value(root, "", "key_file", config.key_file));
  RETURN_IF_ERROR(read_value(root, "", "store", config.store_url));
  RETURN_IF_ERROR(read_value(root, "", "insecure_http", config.insecure_http));
  RETURN_IF_ERROR(read_value(root, "", "log_level", config.log_level));
  if (const auto* roles = root.get("roles")) {
    const auto* array = roles->as_array();
    if (array == nullptr) return config_error("roles", "must be an array such as [\"hip\"]");
    std::set<Role> parsed;
    for (const auto& element : *array) {
      if (!element.is_string()) return config_error("roles", "every role must be a string");
      ASSIGN_OR_RETURN(const auto role, parse_role(element.as_string()->get()));
      parsed.insert(role);
    }
    config.roles = std::move(parsed);
  }
  if (const auto* tls = root.get("tls")) {
    if (!tls->is_table()) return config_error("tls", "must be a table");
    RETURN_IF_ERROR(refuse_unknown_keys(*tls->as_table(), "tls",
                                        {"cert", "key", "client_ca", "client_cert", "client_key"}));
    RETURN_IF_ERROR(read_value(*tls->as_table(), "tls", "cert", config.tls_cert));
    RETURN_IF_ERROR(read_value(*tls->as_table(), "tls", "key", config.tls_key));
    RETURN_IF_ERROR(read_value(*tls->as_table(), "tls", "client_ca", config.tls_client_ca));
    RETURN_IF_ERROR(read_value(*tls->as_table(), "tls", "client_cert", config.tls_client_cert));
    RETURN_IF_ERROR(read_value(*tls->as_table(), "tls", "client_key", config.tls_client_key));
  }
  if (const auto* http = root.get("http")) {
    if (!http->is_table()) return config_error("http", "must be a table");
    const auto& table = *http->as_table();
    RETURN_IF_ERROR(refuse_unknown_keys(
        table, "http",
        {"io_threads", "worker_threads", "max_connections", "max_body_bytes", "max_header_bytes",
         "read_timeout_ms", "idle_timeout_ms", "reads_on_io_threads"}));
    RETURN_IF_ERROR(read_value(table, "http", "io_threads", config.http.io_threads));
    RETURN_IF_ERROR(read_value(table, "http", "worker_threads", config.http.worker_threads));
    RETURN_IF_ERROR(read_value(table, "http", "max_connections", config.http.max_connections));
    RETURN_IF_ERROR(read_value(table, "http", "max_body_bytes", config.http.max_body_bytes));
    RETURN_IF_ERROR(read_value(table, "http", "max_header_bytes", config.http.max_header_bytes));
    RETURN_IF_ERROR(read_value(table, "http", "read_timeout_ms", config.http.read_timeout));
    RETURN_IF_ERROR(read_value(table, "http", "idle_timeout_ms", config.http.idle_timeout));
    RETURN_IF_ERROR(
        read_value(table, "http", "reads_on_io_threads", config.http.reads_on_io_threads));
  }
  if (const auto* audit = root.get("audit")) {
    if (!audit->is_table()) return config_error("audit", "must be a table");
    const auto& table = *audit->as_table();
    RETURN_IF_ERROR(
        refuse_unknown_keys(table, "audit", {"origin", "witness_name", "witnesses", "ca_file"}));
    RETURN_IF_ERROR(read_value(table, "audit", "origin", config.audit.origin));
    RETURN_IF_ERROR(read_value(table, "audit", "witness_name", config.audit.witness_name));
    RETURN_IF_ERROR(read_value(table, "audit", "ca_file", config.audit.ca_file));
    if (const auto* witnesses = table.get("witnesses")) {
      const auto* array = witnesses->as_array();
      if (array == nullptr) return config_error("audit.witnesses", "must be [[audit.witnesses]]");
      for (const auto& element : *array) {
        if (!element.is_table()) return config_error("audit.witnesses", "each must be a table");
        const auto& peer_table = *element.as_table();
        RETURN_IF_ERROR(refuse_unknown_keys(peer_table, "audit.witnesses", {"url", "key"}));
        WitnessPeer peer;
        RETURN_IF_ERROR(read_value(peer_table, "audit.witnesses", "url", peer.url));
        RETURN_IF_ERROR(read_value(peer_table, "audit.witnesses", "key", peer.key));
        if (peer.url.empty() || peer.key.empty()) {
          return config_error("audit.witnesses", "each witness needs url and key");
        }
        config.audit.witnesses.push_back(std::move(peer));
      }
    }
  }
  if (const auto* consent = root.get("consent")) {
    if (!consent->is_table()) return config_error("consent", "must be a table");
    const auto& table = *consent->as_table();
    RETURN_IF_ERROR(refuse_unknown_keys(
        table, "consent",
        {"cm_id", "facility_id", "cm_key", "cm_url", "public_url", "link_entry_bytes",
         "notification_outbox", "request_lifetime_hours", "session_lifetime_minutes",
         "break_glass_hours", "break_glass_per_day", "ca_file"}));
    auto& options = config.consent;
    RETURN_IF_ERROR(read_value(table, "consent", "cm_id", options.cm_id));
    RETURN_IF_ERROR(read_value(table, "consent", "facility_id", options.facility_id));
    RETURN_IF_ERROR(read_value(table, "consent", "cm_key", options.cm_key));
    RETURN_IF_ERROR(read_value(table, "consent", "cm_url", options.cm_url));
    RETURN_IF_ERROR(read_value(table, "consent", "public_url", options.public_url));
    RETURN_IF_ERROR(read_value(table, "consent", "link_entry_bytes", options.link_entry_bytes));
    RETURN_IF_ERROR(
        read_value(table, "consent", "notification_outbox", options.notification_outbox));
    RETURN_IF_ERROR(read_value(table, "consent", "ca_file", options.ca_file));
    std::size_t hours = static_cast<std::size_t>(options.request_lifetime.count());
    RETURN_IF_ERROR(read_value(table, "consent", "request_lifetime_hours", hours));
    options.request_lifetime = std::chrono::hours(hours);
    std::size_t minutes = static_cast<std::size_t>(options.session_lifetime.count());
    RETURN_IF_ERROR(read_value(table, "consent", "session_lifetime_minutes", minutes));
    options.session_lifetime = std::chrono::minutes(minutes);
    std::size_t break_glass_hours = static_cast<std::size_t>(options.break_glass_max.count());
    RETURN_IF_ERROR(read_value(table, "consent", "break_glass_hours", break_glass_hours));
    options.break_glass_max = std::chrono::hours(break_glass_hours);
    RETURN_IF_ERROR(
        read_value(table, "consent", "break_glass_per_day", options.break_glass_per_day));
  }
  if (const auto* guard = root.get("guard")) {
    if (!guard->is_table()) return config_error("guard", "must be a table");
    const auto& table = *guard->as_table();
    auto& policy = config.guard;
    RETURN_IF_ERROR(refuse_unknown_keys(
        table, "guard",
        {"patients_read_per_hour", "rewrites_per_ten_minutes", "exported_records_per_hour",
         "random_rewrites_per_ten_minutes", "canary_patients", "scrub_records_per_minute"}));
    RETURN_IF_ERROR(
        read_value(table, "guard", "patients_read_per_hour", policy.patients_read_per_hour));
    RETURN_IF_ERROR(
        read_value(table, "guard", "rewrites_per_ten_minutes", policy.rewrites_per_ten_minutes));
    RETURN_IF_ERROR(
        read_value(table, "guard", "exported_records_per_hour", policy.exported_records_per_hour));
    RETURN_IF_ERROR(read_value(table, "guard", "random_rewrites_per_ten_minutes",
                               policy.random_rewrites_per_ten_minutes));
    RETURN_IF_ERROR(
        read_value(table, "guard", "scrub_records_per_minute", policy.scrub_records_per_minute));
    if (const auto* canaries = table.get("canary_patients")) {
      if (!canaries->is_array()) {
        return config_error("guard.canary_patients", "must be a list of Patient ids");
      }
      for (const auto& id : *canaries->as_array()) {
        if (!id.is_string()) {
          return config_error("guard.canary_patients", "must be a list of Patient ids");
        }
        policy.canary_patients.insert(id.as_string()->get());
      }
    }
  }
  if (const auto* web = root.get("web")) {
    if (!web->is_table()) return config_error("web", "must be a table");
    const auto& table = *web->as_table();
    RETURN_IF_ERROR(refuse_unknown_keys(table, "web", {"enabled", "root"}));
    RETURN_IF_ERROR(read_value(table, "web", "enabled", config.web.enabled));
    RETURN_IF_ERROR(read_value(table, "web", "root", config.web.root));
  }
  if (const auto* options = root.get("store_options")) {
    if (!options->is_table()) return config_error("store_options", "must be a table");
    RETURN_IF_ERROR(
        refuse_unknown_keys(*options->as_table(), "store_options", {"postgres_pool_size"}));
    RETURN_IF_ERROR(read_value(*options->as_table(), "store_options", "postgres_pool_size",
                               config.postgres_pool_size));
  }
  return {};
}

}  // namespace

bool ListenAddress::is_loopback() const {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    static const in6_addr kLoopback = IN6ADDR_LOOPBACK_INIT;
    return std::memcmp(&v6, &kLoopback, sizeof v6) == 0;
  }
  return false;
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return config_error("listen", fmt::format("'{}' is not HOST:PORT", text));
  }
  ListenAddress address;
  address.host = std::string(text.substr(0, colon));
  if (address.host.size() > 2 && address.host.front() == '[' && address.host.back() == ']') {
    address.host = address.host.substr(1, address.host.size() - 2);
  }
  const auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto parsed = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (parsed.ec != std::errc() || parsed.ptr != port_text.data() + port_text.size() ||
      port > 65535) {
    return config_error("listen", fmt::format("'{}' is not a port number", port_text));
  }
  address.port = static_cast<std::uint16_t>(port);
  in6_addr ignored{};
  if (address.host != "localhost" && ::inet_pton(AF_INET, address.host.c_str(), &ignored) != 1 &&
      ::inet_pton(AF_INET6, address.host.c_str(), &ignored) != 1) {
    return config_error("listen",
                        fmt::format("'{}' is not an IP address or localhost", address.host));
  }
  return address;
}

Result<std::set<Role>> parse_roles(std::string_view comma_separated) {
  std::set<Role> roles;
  while (!comma_separated.empty()) {
    const auto comma = comma_separated.find(',');
    ASSIGN_OR_RETURN(const auto role, parse_role(comma_separated.substr(0, comma)));
    roles.insert(role);
    if (comma == std::string_view::npos) break;
    comma_separated.remove_prefix(comma + 1);
  }
  return roles;
}

std::string roles_text(const std::set<Role>& roles) {
  std::string out;
  for (const auto role : roles) {
    if (!out.empty()) out += ',';
    out += role == Role::kConsentManager ? "cm" : role == Role::kProvider ? "hip" : "hiu";
  }
  return out;
}

Status load_toml_text(std::string_view text, std::string_view origin, ServeConfig& config) {
  try {
    const toml::table root = toml::parse(text, origin);
    return load_table(root, config);
  } catch (const toml::parse_error& error) {
    const auto& where = error.source().begin;
    return make_error(ErrorCode::kInvalidArgument, fmt::format("config: {} line {}: {}", origin,
                                                               where.line, error.description()));
  }
}

Status load_toml_file(const std::filesystem::path& path, ServeConfig& config) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("config: {} is not a readable file", path.string()));
  }
  try {
    const toml::table root = toml::parse_file(path.string());
    return load_table(root, config);
  } catch (const toml::parse_error& parse_error) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("config: {} line {}: {}", path.string(),
                                  parse_error.source().begin.line, parse_error.description()));
  }
}

Status validate(const ServeConfig& config) {
  if (config.data_dir.empty()) return config_error("data_dir", "is required (--data)");
  if (config.key_file.empty()) return config_error("key_file", "is required (--key-file)");
  if (config.roles.empty()) return config_error("roles", "give at least one of cm, hip, hiu");
  if (!config.emergency.from_backup.empty()) {
    if (!config.emergency.read_only) {
      return config_error("from_backup", "serves only with --read-only (the emergency mode)");
    }
    if (config.emergency.backup_key.empty()) {
      return config_error("backup_key", "is required with --from-backup");
    }
  }
  if (!config.store_url.empty()) {
    if (auto valid = store::validate_store_url(config.store_url); !valid) {
      return config_error("store", valid.error().message);
    }
  }
  if (config.tls_client_cert.empty() != config.tls_client_key.empty()) {
    return config_error(config.tls_client_cert.empty() ? "tls.client_cert" : "tls.client_key",
                        "tls.client_cert and tls.client_key go together");
  }
  if (!config.tls_client_ca.empty() && config.tls_cert.empty()) {
    return config_error("tls.client_ca", "mutual TLS needs the node's own tls.cert and tls.key");
  }
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return config_error(config.tls_cert.empty() ? "tls.cert" : "tls.key",
                        "TLS needs both a certificate and a key");
  }
  for (const auto& [key, path] :
       {std::pair{"tls.cert", &config.tls_cert}, std::pair{"tls.key", &config.tls_key},
        std::pair{"tls.client_ca", &config.tls_client_ca},
        std::pair{"tls.client_cert", &config.tls_client_cert},
        std::pair{"tls.client_key", &config.tls_client_key}}) {
    if (!path->empty() && !std::filesystem::is_regular_file(*path)) {
      return config_error(key, fmt::format("{} is not a readable file", path->string()));
    }
  }
  if (!config.listen.is_loopback() && !config.tls_enabled() && !config.insecure_http) {
    return config_error("listen",
                        fmt::format("{} is not a loopback address; configure tls.cert and tls.key "
                                    "(--tls-cert, --tls-key), or pass --insecure-http behind a "
                                    "TLS-terminating proxy",
                                    config.listen.host));
  }
  const auto& http = config.http;
  if (http.io_threads > limits::kWorkerThreadsMax)
    return config_error("http.io_threads", "is too large");
  if (http.worker_threads == 0 || http.worker_threads > limits::kWorkerThreadsMax) {
    return config_error("http.worker_threads",
                        fmt::format("must be 1 to {}", limits::kWorkerThreadsMax));
  }
  if (http.max_connections == 0 || http.max_connections > limits::kConnectionsMax) {
    return config_error("http.max_connections",
                        fmt::format("must be 1 to {}", limits::kConnectionsMax));
  }
  if (http.max_body_bytes == 0 || http.max_body_bytes > limits::kBodyBytesMax) {
    return config_error("http.max_body_bytes",
                        fmt::format("must be 1 to {}", limits::kBodyBytesMax));
  }
  if (http.max_header_bytes < 1024 || http.max_header_bytes > limits::kHeaderBytesMax) {
    return config_error("http.max_header_bytes",
                        fmt::format("must be 1024 to {}", limits::kHeaderBytesMax));
  }
  if (config.postgres_pool_size == 0 || config.postgres_pool_size > limits::kPostgresPoolMax) {
    return config_error("store_options.postgres_pool_size",
                        fmt::format("must be 1 to {}", limits::kPostgresPoolMax));
  }
  const auto& consent = config.consent;
  if (consent.cm_id.empty() || consent.cm_id.size() > 16 ||
      !std::all_of(consent.cm_id.begin(), consent.cm_id.end(),
                   [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); })) {
    return config_error("consent.cm_id", "must be 1 to 16 lower-case letters or digits");
  }
  if (consent.request_lifetime.count() < 1 || consent.request_lifetime.count() > 24 * 90) {
    return config_error("consent.request_lifetime_hours", "must be 1 to 2160 (90 days)");
  }
  if (consent.session_lifetime.count() < 5 || consent.session_lifetime.count() > 24 * 60) {
    return config_error("consent.session_lifetime_minutes", "must be 5 to 1440");
  }
  if (consent.break_glass_max.count() < 1 || consent.break_glass_max.count() > 24) {
    return config_error("consent.break_glass_hours", "must be 1 to 24");
  }
  if (consent.break_glass_per_day < 1 || consent.break_glass_per_day > 100) {
    return config_error("consent.break_glass_per_day", "must be 1 to 100");
  }
  if (config.log_level != "debug" && config.log_level != "info" && config.log_level != "warn" &&
      config.log_level != "error") {
    return config_error("log_level", "must be debug, info, warn or error");
  }
  return {};
}

}  // namespace kavach::config
