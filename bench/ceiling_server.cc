// The ceiling for the HTTP benchmarks: a minimal Boost.Beast server that answers every request
// with one fixed body, doing nothing else (no routing, no authentication, no store, no audit).
// Kavach's read benchmark is reported against it as a ratio.
// Usage: ceiling_server PORT BODY_FILE   (prints "listening on PORT" when ready)
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// One thread per connection: wrk keeps 32 connections open, and a blocking loop is the least
// work a server can do per request.
void serve(asio::ip::tcp::socket socket, const std::string& body) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> request;
    beast::error_code error;
    http::read(socket, buffer, request, error);
    if (error) return;
    http::response<http::string_body> response{http::status::ok, request.version()};
    response.set(http::field::content_type, "application/fhir+json");
    response.keep_alive(request.keep_alive());
    response.body() = body;
    response.prepare_payload();
    http::write(socket, response, error);
    if (error || !request.keep_alive()) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: ceiling_server PORT BODY_FILE\n";
    return 2;
  }
  std::ifstream file(argv[2], std::ios::binary);
  const std::string body{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(
      io, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoi(argv[1]))});
  std::cout << "listening on " << acceptor.local_endpoint().port() << std::endl;
  for (;;) {
    asio::ip::tcp::socket socket(io);
    acceptor.accept(socket);
    std::thread(serve, std::move(socket), std::cref(body)).detach();
  }
}
