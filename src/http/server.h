// Server: the HTTP/1.1 front door of a node, on Boost.Beast and Asio with C++20 coroutines.
//
// One I/O thread per core, each with its own io_context and the connections accepted to it (round
// robin), reads and parses requests; handlers run on a separate worker pool so a slow store call
// never stalls other connections. Brief handlers (Work::kBrief: a record read from the embedded
// store, a liveness probe) may instead run on the connection's own I/O thread, which saves two
// thread hand-offs per request: reads about a quarter faster on the 2-core benchmark machine.
//
// Every bound is explicit: header and body size (413), a read timeout once a request has started
// (408) and an idle timeout between requests, a maximum number of connections (503 beyond it), and
// a drain on SIGTERM/SIGINT that stops accepting, finishes requests in flight (answering them with
// Connection: close), closes idle connections and exits within the drain timeout. With a
// certificate and key it speaks only HTTPS, TLS 1.2 or newer.
//
// Thread-safety: construct and run() from one thread; stop() and draining() from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/metrics.h"
#include "http/router.h"

namespace kavach::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  // Other nodes' client certificates are checked against this CA (mutual TLS); empty: none asked.
  std::filesystem::path tls_client_ca;
  std::size_t io_threads = 0;  // 0: one per core
  std::size_t worker_threads = 16;
  // Runs kBrief handlers on the I/O threads. Only for a store whose reads stay in the process
  // (SQLite): a read that waits on a database server would stall every connection of its thread.
  bool brief_handlers_inline = false;
  std::size_t max_connections = 1024;
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds drain_timeout{20'000};
};

class Server {
 public:
  // Binds the listening socket (so the port is known) but serves nothing until run().
  static Result<std::unique_ptr<Server>> bind(const ServerOptions& options, const Router& router,
                                              Metrics& metrics);
  ~Server();

  std::uint16_t port() const;
  bool tls() const;
  // Serves until SIGTERM or SIGINT (or stop()), then drains. Blocks the calling thread.
  void run();
  // Begins the drain from any thread.
  void stop();
  bool draining() const;

 private:
  class Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kavach::http
