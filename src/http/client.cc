#include "http/client.h"

#include <fmt/format.h>

#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace kavach::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

bool is_loopback_host(std::string_view host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.starts_with("127.");
}

tl::unexpected<Error> unreachable(std::string_view url, std::string_view what) {
  return make_error(ErrorCode::kUnavailable, fmt::format("calling {}: {}", url, what));
}

}  // namespace

Result<ParsedUrl> parse_url(std::string_view url) {
  ParsedUrl parsed;
  std::string_view rest;
  if (url.starts_with("https://")) {
    parsed.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return make_error(ErrorCode::kInvalidArgument, "a peer URL starts with https:// or http://");
  }
  const auto slash = rest.find('/');
  const auto authority = rest.substr(0, slash);
  parsed.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view host = authority;
  std::string_view port = parsed.tls ? "443" : "80";
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error(ErrorCode::kInvalidArgument, "bad URL");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return make_error(ErrorCode::kInvalidArgument, "bad URL");
      port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos ||
      authority.find('@') != std::string_view::npos) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("bad peer URL {}", url));
  }
  if (!parsed.tls && !is_loopback_host(host)) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("{} is plain HTTP off loopback; use https://", url));
  }
  parsed.host = std::string(host);
  parsed.port = std::string(port);
  return parsed;
}

class HttpClient::Impl {
 public:
  explicit Impl(ClientOptions options)
      : options_(std::move(options)), tls_context_(ssl::context::tls_client) {}

  Status configure() {
    SSL_CTX_set_min_proto_version(tls_context_.native_handle(), TLS1_2_VERSION);
    boost::system::error_code error;
    if (options_.ca_file.empty()) {
      tls_context_.set_default_verify_paths(error);
    } else {
      tls_context_.load_verify_file(options_.ca_file.string(), error);
    }
    if (error) {
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("cannot load the trusted CAs: {}", error.message()));
    }
    tls_context_.set_verify_mode(ssl::verify_peer);
    if (!options_.cert_file.empty()) {
      tls_context_.use_certificate_chain_file(options_.cert_file.string(), error);
      if (!error) {
        tls_context_.use_private_key_file(options_.key_file.string(), ssl::context::pem, error);
      }
      if (error) {
        return make_error(ErrorCode::kFailedPrecondition,
                          fmt::format("cannot load the client certificate {}: {}",
                                      options_.cert_file.string(), error.message()));
      }
    }
    return {};
  }

  Result<ClientReply> send(beast::http::verb verb, std::string_view url,
                           std::string_view content_type, std::string body,
                           const HeaderList& headers) {
    ASSIGN_OR_RETURN(const auto parsed, parse_url(url));
    auto request =
        std::make_shared<beast::http::request<beast::http::string_body>>(verb, parsed.target, 11);
    request->set(beast::http::field::host, parsed.host);
    request->set(beast::http::field::user_agent, "kavach");
    if (verb == beast::http::verb::post) {
      request->set(beast::http::field::content_type, content_type);
    }
    for (const auto& [name, value] : headers) request->set(name, value);
    request->body() = std::move(body);
    request->prepare_payload();

    // Beast's deadlines apply to asynchronous operations only, so the exchange is a coroutine
    // and run_for() bounds it as a whole, name resolution included.
    asio::io_context io;
    std::optional<Result<ClientReply>> outcome;
    asio::co_spawn(io, exchange(parsed, request),
                   [&outcome, url](std::exception_ptr failure, ClientReply reply) {
                     if (!failure) {
                       outcome = std::move(reply);
                       return;
                     }
                     try {
                       std::rethrow_exception(failure);
                     } catch (const boost::system::system_error& error) {
                       outcome = unreachable(url, error.code().message());
                     } catch (const std::exception& error) {
                       outcome = unreachable(url, error.what());
                     }
                   });
    io.run_for(options_.timeout);
    if (!outcome) return unreachable(url, "no answer in time");
    return std::move(*outcome);
  }

 private:
  asio::awaitable<ClientReply> exchange(
      ParsedUrl parsed, std::shared_ptr<beast::http::request<beast::http::string_body>> request) {
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    const auto endpoints =
        co_await resolver.async_resolve(parsed.host, parsed.port, asio::use_awaitable);
    if (parsed.tls) {
      beast::ssl_stream<beast::tcp_stream> stream(executor, tls_context_);
      if (!SSL_set_tlsext_host_name(stream.native_handle(), parsed.host.c_str())) {
        throw std::runtime_error("cannot set the TLS server name");
      }
      stream.set_verify_callback(ssl::host_name_verification(parsed.host));
      beast::get_lowest_layer(stream).expires_after(options_.timeout);
      co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::use_awaitable);
      co_await stream.async_handshake(ssl::stream_base::client, asio::use_awaitable);
      co_return co_await write_and_read(stream, *request);
    }
    beast::tcp_stream stream(executor);
    stream.expires_after(options_.timeout);
    co_await stream.async_connect(endpoints, asio::use_awaitable);
    co_return co_await write_and_read(stream, *request);
  }

  template <class Stream>
  asio::awaitable<ClientReply> write_and_read(
      Stream& stream, beast::http::request<beast::http::string_body>& request) {
    co_await beast::http::async_write(stream, request, asio::use_awaitable);
    beast::flat_buffer buffer;
    beast::http::response_parser<beast::http::string_body> parser;
    parser.body_limit(options_.max_response_bytes);
    co_await beast::http::async_read(stream, buffer, parser, asio::use_awaitable);
    const auto& response = parser.get();
    co_return ClientReply{static_cast<int>(response.result_int()),
                          std::string(response[beast::http::field::content_type]), response.body()};
  }

  ClientOptions options_;
  ssl::context tls_context_;
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::create(ClientOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  RETURN_IF_ERROR(impl->configure());
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<ClientReply> HttpClient::post(std::string_view url, std::string_view content_type,
                                     std::string body, const HeaderList& headers) {
  return impl_->send(beast::http::verb::post, url, content_type, std::move(body), headers);
}

Result<ClientReply> HttpClient::get(std::string_view url, const HeaderList& headers) {
  return impl_->send(beast::http::verb::get, url, "", "", headers);
}

}  // namespace kavach::http
