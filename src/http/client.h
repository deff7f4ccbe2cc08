// HttpClient: the node's outgoing HTTP calls to other nodes (witnesses now; the ABDM exchange
// later). One synchronous request per call, with a deadline on the whole exchange and a bound on
// the answer's size. Plain HTTP is allowed only to loopback; anything else must be HTTPS, with the
// peer's certificate verified against the system's trust store or a given CA file and its host
// name checked. Callers name their peers from configuration or a registry, never from a request.
// Thread-safety: safe from any thread; each call uses its own connection.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace kavach::http {

struct ClientOptions {
  std::chrono::milliseconds timeout{10'000};
  std::size_t max_response_bytes = 1024 * 1024;
  std::filesystem::path ca_file;  // empty: the system's trust store
  // The certificate (chain) and key this node presents to servers that ask (mutual TLS).
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
};

struct ClientReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

struct ParsedUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query
};

// Parses "http[s]://host[:port]/path"; kInvalidArgument for anything else, and for plain HTTP to a
// host that is not loopback.
Result<ParsedUrl> parse_url(std::string_view url);

class HttpClient {
 public:
  static Result<std::unique_ptr<HttpClient>> create(ClientOptions options = {});
  ~HttpClient();

  using HeaderList = std::vector<std::pair<std::string, std::string>>;

  // kUnavailable when the peer cannot be reached or does not answer in time.
  Result<ClientReply> post(std::string_view url, std::string_view content_type, std::string body,
                           const HeaderList& headers = {});
  Result<ClientReply> get(std::string_view url, const HeaderList& headers = {});

 private:
  class Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kavach::http
