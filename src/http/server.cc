#include "http/server.h"

#include <openssl/ssl.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/log.h"
#include "http/problem.h"

namespace kavach::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
// Each connection lives on one I/O thread's own io_context, so its coroutine and watchdog never
// race and no strand is needed.
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using TlsStream = ssl::stream<Socket>;
using Clock = std::chrono::steady_clock;
using asio::use_awaitable;
constexpr auto kNoThrow = asio::as_tuple(use_awaitable);
constexpr std::chrono::milliseconds kWatchdogTick{250};

// What one connection is doing, shared between its serving coroutine and its watchdog. Both run on
// the connection's I/O thread, so no lock is needed.
struct ConnectionState {
  enum class Phase { kWaiting, kReading, kHandling, kWriting, kFinished };
  Phase phase = Phase::kWaiting;
  Clock::time_point since = Clock::now();
  beast::flat_buffer buffer;
  bool got_bytes = false;  // any byte of the current request has arrived
  bool timed_out = false;
  std::function<void()> cancel;  // cancels the socket's pending operations
};

Request to_request(bhttp::request<bhttp::string_body>&& message) {
  Request request;
  request.method = std::string(message.method_string());
  std::string_view target = message.target();
  // The absolute form ("GET http://host/fhir/R4/Patient"), which a server must accept (RFC 9112
  // 3.2.2) and clients send when following absolute links: the path and query are what route.
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() > scheme.size() &&
        std::equal(scheme.begin(), scheme.end(), target.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      const auto path = target.find_first_of("/?", scheme.size());
      target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
    }
  }
  const auto question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
  request.headers.reserve(16);
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  request.body = std::move(message.body());
  return request;
}

bhttp::response<bhttp::string_body> to_message(Response&& response, unsigned version,
                                               bool keep_alive) {
  bhttp::response<bhttp::string_body> message{static_cast<bhttp::status>(response.status), version};
  message.set(bhttp::field::server, "kavach");
  for (auto& [name, value] : response.headers) message.set(name, std::move(value));
  message.body() = std::move(response.body);
  message.keep_alive(keep_alive);
  message.prepare_payload();
  return message;
}

}  // namespace

class Server::Impl {
 public:
  Impl(const ServerOptions& options, const Router& router, Metrics& metrics)
      : options_(options),
        router_(router),
        metrics_(metrics),
        connection_contexts_(make_connection_contexts(options.io_threads)),
        io_(*connection_contexts_.front()),
        tls_context_(ssl::context::tls_server),
        acceptor_(io_),
        workers_(options.worker_threads),
        signals_(io_, SIGINT, SIGTERM) {}

  Status open() {
    if (!options_.tls_cert.empty()) {
      RETURN_IF_ERROR(configure_tls());
      tls_ = true;
    }
    boost::system::error_code error;
    const auto address =
        asio::ip::make_address(options_.host == "localhost" ? "127.0.0.1" : options_.host, error);
    if (error)
      return make_error(ErrorCode::kInvalidArgument, "listen: bad address " + options_.host);
    const tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), error);
    if (!error) acceptor_.set_option(asio::socket_base::reuse_address(true), error);
    if (!error) acceptor_.bind(endpoint, error);
    if (!error) acceptor_.listen(asio::socket_base::max_listen_connections, error);
    if (error) {
      return make_error(
          ErrorCode::kUnavailable,
          fmt::format("cannot listen on {}:{}: {}", options_.host, options_.port, error.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    return {};
  }

  void run() {
    signals_.async_wait([this](const boost::system::error_code& error, int) {
      if (!error) begin_drain();
    });
    asio::co_spawn(io_, accept_loop(), asio::detached);
    // The other threads' contexts have no work until a connection comes; the guards keep them
    // running until the drain ends.
    std::vector<std::thread> extra;
    for (std::size_t i = 1; i < connection_contexts_.size(); ++i) {
      extra.emplace_back([this, i] {
        auto& context = *connection_contexts_[i];
        auto guard = asio::make_work_guard(context);
        context.run();
      });
    }
    io_.run();
    for (auto& thread : extra) thread.join();
    workers_.join();
  }

  void stop() {
    asio::post(io_, [this] { begin_drain(); });
  }

  std::uint16_t port() const { return port_; }
  bool tls() const { return tls_; }
  bool draining() const { return draining_.load(); }

 private:
  Status configure_tls() {
    boost::system::error_code error;
    tls_context_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                             ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                             ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(tls_context_.native_handle(), TLS1_2_VERSION);
    tls_context_.use_certificate_chain_file(options_.tls_cert.string(), error);
    if (error) {
      return make_error(
          ErrorCode::kInvalidArgument,
          fmt::format("tls.cert: cannot load {}: {}", options_.tls_cert.string(), error.message()));
    }
    tls_context_.use_private_key_file(options_.tls_key.string(), ssl::context::pem, error);
    if (error) {
      return make_error(
          ErrorCode::kInvalidArgument,
          fmt::format("tls.key: cannot load {}: {}", options_.tls_key.string(), error.message()));
    }
    if (!options_.tls_client_ca.empty()) {
      tls_context_.load_verify_file(options_.tls_client_ca.string(), error);
      if (error) {
        return make_error(ErrorCode::kInvalidArgument,
                          fmt::format("tls.client_ca: cannot load {}: {}",
                                      options_.tls_client_ca.string(), error.message()));
      }
      if (STACK_OF(X509_NAME)* names =
              SSL_load_client_CA_file(options_.tls_client_ca.string().c_str())) {
        SSL_CTX_set_client_CA_list(tls_context_.native_handle(), names);
      }
      // A client without a certificate still connects; one with a bad certificate is recorded
      // as having none, and routes between nodes refuse it.
      SSL_CTX_set_verify(tls_context_.native_handle(), SSL_VERIFY_PEER,
                         [](int, X509_STORE_CTX*) { return 1; });
    }
    return {};
  }

  void begin_drain() {
    if (draining_.exchange(true)) return;
    log::info("drain_started", {{"connections", std::to_string(connections_.load())}});
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    signals_.cancel(ignored);
    asio::co_spawn(io_, wait_for_drain(), asio::detached);
  }

  asio::awaitable<void> wait_for_drain() {
    asio::steady_timer timer(io_);
    const auto deadline = Clock::now() + options_.drain_timeout;
    while (connections_.load() > 0 && Clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(kNoThrow);
    }
    log::info("drain_finished", {{"connections_left", std::to_string(connections_.load())}});
    for (auto& context : connection_contexts_) context->stop();
  }

  asio::awaitable<void> accept_loop() {
    while (acceptor_.is_open()) {
      auto& context = *connection_contexts_[next_context_++ % connection_contexts_.size()];
      auto [error, socket] = co_await acceptor_.async_accept(context.get_executor(), kNoThrow);
      if (error) {
        if (!acceptor_.is_open()) co_return;
        continue;  // a failed accept (for example EMFILE) must not stop the server
      }
      if (connections_.load() >= options_.max_connections) {
        asio::co_spawn(socket.get_executor(), refuse(std::move(socket)), asio::detached);
        continue;
      }
      ++connections_;
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto executor = socket.get_executor();
      if (tls_) {
        asio::co_spawn(executor, serve(TlsStream(std::move(socket), tls_context_)), asio::detached);
      } else {
        asio::co_spawn(executor, serve(std::move(socket)), asio::detached);
      }
    }
  }

  // Over the connection limit: a plain-HTTP client hears 503 at once; a TLS client is closed.
  asio::awaitable<void> refuse(Socket socket) {
    if (!tls_) {
      auto response = problem_response(503, "transient", "the server is at its connection limit");
      response.set_header("Retry-After", "1");
      auto message = to_message(std::move(response), 11, false);
      co_await bhttp::async_write(socket, message, kNoThrow);
    }
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }

  asio::awaitable<void> watchdog(std::shared_ptr<ConnectionState> state) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (state->phase != ConnectionState::Phase::kFinished) {
      timer.expires_after(kWatchdogTick);
      co_await timer.async_wait(kNoThrow);
      const auto waited = Clock::now() - state->since;
      bool expired = false;
      switch (state->phase) {
        case ConnectionState::Phase::kWaiting:
          expired = waited > options_.idle_timeout || draining_.load();
          break;
        case ConnectionState::Phase::kReading:
        case ConnectionState::Phase::kWriting:
          expired = waited > options_.read_timeout;
          break;
        case ConnectionState::Phase::kHandling:
        case ConnectionState::Phase::kFinished:
          break;
      }
      if (expired && state->cancel) {
        state->timed_out = true;
        state->cancel();
      }
    }
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream stream) {
    auto state = std::make_shared<ConnectionState>();
    state->cancel = [&stream] {
      boost::system::error_code ignored;
      beast::get_lowest_layer(stream).cancel(ignored);
    };
    asio::co_spawn(co_await asio::this_coro::executor, watchdog(state), asio::detached);
    try {
      co_await serve_requests(stream, *state);
    } catch (const std::exception& error) {
      log::error("connection_exception", {{"what", error.what()}});
    }
    state->phase = ConnectionState::Phase::kFinished;
    state->cancel = nullptr;
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream).shutdown(tcp::socket::shutdown_both, ignored);
    --connections_;
  }

  template <class Stream>
  asio::awaitable<void> serve_requests(Stream& stream, ConnectionState& state) {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      state.phase = ConnectionState::Phase::kReading;
      state.since = Clock::now();
      auto [error] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
      if (error) co_return;
    }
    boost::system::error_code peer_error;
    const auto peer = beast::get_lowest_layer(stream).remote_endpoint(peer_error);
    const std::string peer_address = peer_error ? std::string() : peer.address().to_string();
    bool client_certificate = false;
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      // A certificate is asked for but not required at the handshake (patients' browsers have
      // none); routes between nodes require it when mutual TLS is configured (router.h).
      if (X509* certificate = SSL_get1_peer_certificate(stream.native_handle())) {
        client_certificate = SSL_get_verify_result(stream.native_handle()) == X509_V_OK;
        X509_free(certificate);
      }
    }
    for (;;) {
      state.phase = state.buffer.size() > 0 ? ConnectionState::Phase::kReading
                                            : ConnectionState::Phase::kWaiting;
      state.since = Clock::now();
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
      parser.body_limit(options_.max_body_bytes);
      // Read the header first: it marks the request as started and lets us answer Expect.
      auto [header_error, header_bytes] = co_await read_some_header(stream, state, parser);
      if (header_error) {
        co_await answer_read_error(stream, state, header_error);
        co_return;
      }
      if (parser.get()[bhttp::field::expect] == "100-continue") {
        bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
        co_await bhttp::async_write(stream, go_on, kNoThrow);
      }
      auto [body_error, body_bytes] =
          co_await bhttp::async_read(stream, state.buffer, parser, kNoThrow);
      if (body_error) {
        co_await answer_read_error(stream, state, body_error);
        co_return;
      }
      const bool keep_alive = parser.get().keep_alive() && !draining_.load();
      const unsigned version = parser.get().version();
      const auto started = Clock::now();
      state.phase = ConnectionState::Phase::kHandling;
      Request request = to_request(parser.release());
      request.peer = peer_address;
      request.client_certificate = client_certificate;
      request.secure = std::is_same_v<Stream, TlsStream>;
      auto match = router_.match(request);
      Response response;
      // An if, not a conditional expression: GCC 12 miscompiles a co_await inside one (the
      // response came out as garbage bytes).
      if (options_.brief_handlers_inline && match.brief()) {
        response = router_.handle(request, std::move(match));
      } else {
        response = co_await asio::co_spawn(
            workers_.get_executor(),
            [this, &request, &match]() -> asio::awaitable<Response> {
              co_return router_.handle(request, std::move(match));
            },
            use_awaitable);
      }
      co_await await_durable(response);
      const std::chrono::duration<double> elapsed = Clock::now() - started;
      metrics_.observe_request(response.route, response.status, elapsed.count());
      state.phase = ConnectionState::Phase::kWriting;
      state.since = Clock::now();
      auto message = to_message(std::move(response), version, keep_alive);
      auto [write_error, written] = co_await bhttp::async_write(stream, message, kNoThrow);
      if (write_error || !keep_alive) co_return;
    }
  }

  // Holds the response until every commit it depends on is durable (Response::durable_first),
  // with no thread blocked meanwhile: the writer's completion resumes this coroutine on the
  // connection's executor. A failed commit turns the response into its error, so what was not
  // logged is never sent.
  static asio::awaitable<void> await_durable(Response& response) {
    auto tickets = std::exchange(response.durable_first, {});
    for (const auto& ticket : tickets) {
      const auto outcome = co_await durable(ticket);
      if (outcome) continue;
      log::error("response_withheld",
                 {{"route", response.route}, {"why", outcome.error().message}});
      auto route = std::move(response.route);
      // A read whose access was not logged, or a create that was not committed with its entry.
      response = problem_response(
          503, "transient",
          "the request could not be made durable and logged, so it is not answered; retry");
      response.route = std::move(route);
      co_return;
    }
  }

  // The ticket's outcome, awaited without blocking: a timer that never expires by itself is the
  // event, cancelled on the connection's executor when the writer completes the ticket. The
  // writer holds the wait only weakly, so a connection already gone (a drain that timed out) is
  // not touched.
  static asio::awaitable<Result<store::CommitReceipt>> durable(const store::CommitTicket& ticket) {
    struct Wait {
      explicit Wait(const asio::any_io_executor& executor) : event(executor) {}
      asio::steady_timer event;
      std::optional<Result<store::CommitReceipt>> outcome;
    };
    auto wait = std::make_shared<Wait>(co_await asio::this_coro::executor);
    wait->event.expires_at(asio::steady_timer::time_point::max());
    ticket.when_done(
        [weak = std::weak_ptr<Wait>(wait)](const Result<store::CommitReceipt>& outcome) {
          const auto waiting = weak.lock();
          if (!waiting) return;
          asio::post(waiting->event.get_executor(), [waiting, outcome] {
            waiting->outcome = outcome;
            waiting->event.cancel();
          });
        });
    while (!wait->outcome) co_await wait->event.async_wait(kNoThrow);
    co_return *wait->outcome;
  }

  // Reads until the header is complete, marking the request as started when its first bytes come.
  template <class Stream, class Parser>
  asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read_some_header(
      Stream& stream, ConnectionState& state, Parser& parser) {
    std::size_t total = 0;
    while (!parser.is_header_done()) {
      if (state.buffer.size() == 0) {
        // Wait for the first bytes of a request under the idle timeout.
        auto [error, bytes] = co_await stream.async_read_some(state.buffer.prepare(4096), kNoThrow);
        if (error) co_return std::tuple{error, total};
        state.buffer.commit(bytes);
      }
      if (state.phase == ConnectionState::Phase::kWaiting) {
        state.phase = ConnectionState::Phase::kReading;
        state.since = Clock::now();
      }
      auto [error, bytes] =
          co_await bhttp::async_read_header(stream, state.buffer, parser, kNoThrow);
      total += bytes;
      if (error) co_return std::tuple{error, total};
    }
    co_return std::tuple{boost::system::error_code{}, total};
  }

  template <class Stream>
  asio::awaitable<void> answer_read_error(Stream& stream, ConnectionState& state,
                                          boost::system::error_code error) {
    std::optional<Response> response;
    if (state.timed_out) {
      // An idle connection is closed quietly; a request that stalled part-way hears 408.
      if (state.phase == ConnectionState::Phase::kReading) {
        response = problem_response(408, "timeout", "the request was not received in time");
      }
    } else if (error == bhttp::error::header_limit) {
      response = problem_response(413, "too-costly", "the request headers are too large");
    } else if (error == bhttp::error::body_limit) {
      response = problem_response(413, "too-costly", "the request body is too large");
    } else if (error != bhttp::error::end_of_stream && error != asio::error::eof &&
               error != asio::error::connection_reset && error != asio::error::operation_aborted &&
               error != asio::ssl::error::stream_truncated) {
      response = problem_response(400, "structure", "the request is not valid HTTP/1.1");
    }
    if (!response) co_return;
    state.timed_out = false;
    state.phase = ConnectionState::Phase::kWriting;
    state.since = Clock::now();
    metrics_.observe_request("unparsed", response->status, 0);
    const bool still_sending = response->status == 413;
    auto message = to_message(std::move(*response), 11, false);
    auto [write_error, written] = co_await bhttp::async_write(stream, message, kNoThrow);
    if (!write_error && still_sending) co_await discard_unread_body(stream, state);
  }

  // A client refused mid-upload is still sending; closing with its bytes unread would reset the
  // connection before it reads our answer. Read and drop what it sends, within a bound, first.
  template <class Stream>
  asio::awaitable<void> discard_unread_body(Stream& stream, ConnectionState& state) {
    constexpr std::chrono::seconds kLingerMax{2};
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream).shutdown(tcp::socket::shutdown_send, ignored);
    state.phase = ConnectionState::Phase::kReading;
    state.since = Clock::now();
    std::array<char, 64 * 1024> sink{};
    std::size_t discarded = 0;
    while (Clock::now() - state.since < kLingerMax && discarded < 2 * options_.max_body_bytes) {
      auto [error, bytes] =
          co_await beast::get_lowest_layer(stream).async_read_some(asio::buffer(sink), kNoThrow);
      if (error) break;
      discarded += bytes;
    }
  }

  // One io_context per I/O thread, each run by that thread alone, and a connection stays on the
  // context it was accepted to. With one context shared by the I/O threads, its scheduler's lock,
  // cross-thread wake-ups and every connection's strand held /healthz (answered inline) to 98k
  // requests/s on the 2-core benchmark machine; with a context each, 155k, the ceiling server's
  // rate.
  static std::vector<std::unique_ptr<asio::io_context>> make_connection_contexts(
      std::size_t io_threads) {
    const std::size_t threads = io_threads != 0
                                    ? io_threads
                                    : std::max<std::size_t>(1, std::thread::hardware_concurrency());
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    for (std::size_t i = 0; i < threads; ++i) {
      contexts.push_back(std::make_unique<asio::io_context>(1));
    }
    return contexts;
  }

  const ServerOptions options_;
  const Router& router_;
  Metrics& metrics_;
  std::vector<std::unique_ptr<asio::io_context>> connection_contexts_;
  asio::io_context& io_;  // the first thread's: it also accepts, and hears signals and stop()
  std::size_t next_context_ = 0;  // accept_loop's alone
  ssl::context tls_context_;
  bool tls_ = false;
  tcp::acceptor acceptor_;
  asio::thread_pool workers_;
  asio::signal_set signals_;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> connections_{0};
  std::atomic<bool> draining_{false};
};

Result<std::unique_ptr<Server>> Server::bind(const ServerOptions& options, const Router& router,
                                             Metrics& metrics) {
  auto impl = std::make_unique<Impl>(options, router, metrics);
  RETURN_IF_ERROR(impl->open());
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;
std::uint16_t Server::port() const { return impl_->port(); }
bool Server::tls() const { return impl_->tls(); }
void Server::run() { impl_->run(); }
void Server::stop() { impl_->stop(); }
bool Server::draining() const { return impl_->draining(); }

}  // namespace kavach::http
