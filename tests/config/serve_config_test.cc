#include "config/serve_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace kavach::config {
namespace {

using ::testing::HasSubstr;

ServeConfig valid() {
  ServeConfig config;
  config.data_dir = "/tmp/data";
  config.key_file = "/tmp/node.key";
  return config;
}

TEST(ServeConfig, ReadsEveryKeyFromToml) {
  ServeConfig config = valid();
  ASSERT_TRUE(load_toml_text(R"(
listen = "[::1]:9443"
roles = ["hip", "hiu"]
store = "postgresql://kavach@db/kavach"
insecure_http = true
log_level = "warn"
[http]
worker_threads = 4
max_connections = 50
read_timeout_ms = 1500
reads_on_io_threads = false
[store_options]
postgres_pool_size = 3
[audit]
origin = "aiims.example.in/audit"
witness_name = "cm.example.in/witness"
ca_file = "/etc/kavach/ca.pem"
[[audit.witnesses]]
url = "https://cm.example.in/audit/witness/add-checkpoint"
key = "cm.example.in/witness+01020304+BAAA"
)",
                             "test", config));
  EXPECT_EQ(config.listen.host, "::1");
  EXPECT_EQ(config.listen.port, 9443);
  EXPECT_EQ(roles_text(config.roles), "hip,hiu");
  EXPECT_EQ(config.store_url, "postgresql://kavach@db/kavach");
  EXPECT_TRUE(config.insecure_http);
  EXPECT_EQ(config.http.worker_threads, 4u);
  EXPECT_EQ(config.http.max_connections, 50u);
  EXPECT_EQ(config.http.read_timeout, std::chrono::milliseconds(1500));
  EXPECT_FALSE(config.http.reads_on_io_threads);
  EXPECT_EQ(config.postgres_pool_size, 3u);
  EXPECT_EQ(config.audit.origin, "aiims.example.in/audit");
  EXPECT_EQ(config.audit.witness_name, "cm.example.in/witness");
  EXPECT_EQ(config.audit.ca_file, "/etc/kavach/ca.pem");
  ASSERT_EQ(config.audit.witnesses.size(), 1u);
  EXPECT_EQ(config.audit.witnesses[0].url, "https://cm.example.in/audit/witness/add-checkpoint");
  EXPECT_TRUE(validate(config));
}

TEST(ServeConfig, ReadsTheExchangeAndMutualTlsKeys) {
  ServeConfig config = valid();
  ASSERT_TRUE(load_toml_text(R"(
[tls]
client_ca = "/etc/kavach/federation-ca.pem"
client_cert = "/etc/kavach/node.pem"
client_key = "/etc/kavach/node.key"
[consent]
facility_id = "aiims-delhi"
cm_url = "https://cm.example.in"
public_url = "https://aiims.example.in"
link_entry_bytes = 1048576
break_glass_hours = 12
break_glass_per_day = 2
)",
                             "test", config));
  EXPECT_EQ(config.tls_client_ca, "/etc/kavach/federation-ca.pem");
  EXPECT_EQ(config.tls_client_cert, "/etc/kavach/node.pem");
  EXPECT_EQ(config.tls_client_key, "/etc/kavach/node.key");
  EXPECT_EQ(config.consent.public_url, "https://aiims.example.in");
  EXPECT_EQ(config.consent.link_entry_bytes, 1048576u);
  EXPECT_EQ(config.consent.break_glass_max, std::chrono::hours(12));
  EXPECT_EQ(config.consent.break_glass_per_day, 2u);
  // Mutual TLS needs the node's own certificate, and a client certificate its key.
  const auto error = validate(config);
  ASSERT_FALSE(error);
  EXPECT_NE(error.error().message.find("tls.client_ca"), std::string::npos)
      << error.error().message;
  config.tls_client_ca.clear();
  config.tls_client_key.clear();
  EXPECT_NE(validate(config).error().message.find("tls.client_"), std::string::npos);
}

TEST(ServeConfig, ErrorsNameTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"lisen = \"x\"", "lisen: unknown key"},
      {"[http]\nmax_conections = 3", "http.max_conections: unknown key"},
      {"listen = 8080", "listen"},
      {"listen = \"127.0.0.1\"", "listen"},
      {"listen = \"example.org:80\"", "listen"},
      {"listen = \"127.0.0.1:70000\"", "listen"},
      {"roles = [\"doctor\"]", "roles"},
      {"[http]\nread_timeout_ms = -1", "http.read_timeout_ms"},
      {"insecure_http = \"yes\"", "insecure_http"},
      {"[http]\nreads_on_io_threads = 1", "http.reads_on_io_threads: must be true or false"},
      {"= broken", "line 1"},
      {"[audit]\norign = \"x\"", "audit.orign: unknown key"},
      {"[audit]\nwitnesses = 3", "audit.witnesses"},
      {"[[audit.witnesses]]\nurl = \"https://x\"", "audit.witnesses"},
  };
  for (const auto& [text, fragment] : cases) {
    ServeConfig config = valid();
    auto loaded = load_toml_text(text, "test", config);
    ASSERT_FALSE(loaded) << text;
    EXPECT_THAT(loaded.error().message, HasSubstr(fragment)) << text;
  }
}

TEST(ServeConfig, ValidationRefusesUnsafeOrBrokenSettings) {
  auto refused = [](ServeConfig config, const char* fragment) {
    auto result = validate(config);
    ASSERT_FALSE(result);
    EXPECT_THAT(result.error().message, HasSubstr(fragment));
  };
  ServeConfig public_plain = valid();
  public_plain.listen = {"0.0.0.0", 8080};
  refused(public_plain, "not a loopback address");
  public_plain.insecure_http = true;
  EXPECT_TRUE(validate(public_plain));

  ServeConfig half_tls = valid();
  half_tls.tls_cert = "/tmp/cert.pem";
  refused(half_tls, "tls.key");
  ServeConfig missing_files = valid();
  missing_files.tls_cert = "/nonexistent/cert.pem";
  missing_files.tls_key = "/nonexistent/key.pem";
  refused(missing_files, "tls.cert");
  ServeConfig no_data = valid();
  no_data.data_dir.clear();
  refused(no_data, "data_dir");
  ServeConfig bad_store = valid();
  bad_store.store_url = "mysql://x";
  refused(bad_store, "store");
  ServeConfig no_roles = valid();
  no_roles.roles.clear();
  refused(no_roles, "roles");
  ServeConfig too_many = valid();
  too_many.http.max_connections = 1'000'000;
  refused(too_many, "http.max_connections");
  ServeConfig bad_level = valid();
  bad_level.log_level = "loud";
  refused(bad_level, "log_level");
}

TEST(ServeConfig, LoopbackAddresses) {
  EXPECT_TRUE((ListenAddress{"127.0.0.1", 1}).is_loopback());
  EXPECT_TRUE((ListenAddress{"127.8.9.1", 1}).is_loopback());
  EXPECT_TRUE((ListenAddress{"::1", 1}).is_loopback());
  EXPECT_TRUE((ListenAddress{"localhost", 1}).is_loopback());
  EXPECT_FALSE((ListenAddress{"0.0.0.0", 1}).is_loopback());
  EXPECT_FALSE((ListenAddress{"::", 1}).is_loopback());
  EXPECT_FALSE((ListenAddress{"10.1.2.3", 1}).is_loopback());
}

TEST(ServeConfig, RolesParse) {
  EXPECT_EQ(roles_text(*parse_roles("hiu,cm")), "cm,hiu");
  EXPECT_FALSE(parse_roles("cm,,hip"));
  EXPECT_FALSE(parse_roles("admin"));
}

TEST(ServeConfig, MissingFileIsAClearError) {
  ServeConfig config = valid();
  auto loaded = load_toml_file("/nonexistent/kavach.toml", config);
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message, HasSubstr("not a readable file"));
  testing::TempDir dir;
  std::ofstream(dir.path() / "k.toml") << "log_level = \"debug\"\n";
  ASSERT_TRUE(load_toml_file(dir.path() / "k.toml", config));
  EXPECT_EQ(config.log_level, "debug");
}

}  // namespace
}  // namespace kavach::config
