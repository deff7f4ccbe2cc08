// The server over a real loopback socket: where handlers run.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "auth/token_service.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "crypto/secret_bytes.h"
#include "http/client.h"
#include "http/router.h"
#include "http/server.h"

namespace kavach::http {
namespace {

Response text(std::string body) {
  Response response;
  response.body = std::move(body);
  return response;
}

// A server with one worker thread, which `/hold` keeps busy until released, and a brief route.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("GET", "/hold", Access::kPublic, [this](const Request&, const RouteContext&) {
      holding_.set_value();
      release_.get_future().wait();
      return text("held");
    });
    router_.add(
        "GET", "/brief", Access::kPublic,
        [this](const Request&, const RouteContext&) {
          std::lock_guard lock(threads_mutex_);
          brief_threads_.insert(std::this_thread::get_id());
          return text("brief");
        },
        Work::kBrief);
  }
  void TearDown() override {
    // A test that failed while holding the worker must not leave the server's drain waiting on it.
    release();
    if (server_) server_->stop();
    if (serving_.joinable()) serving_.join();
  }

  void start(bool brief_handlers_inline) {
    ServerOptions options;
    options.port = 0;
    options.io_threads = 2;
    options.worker_threads = 1;
    options.brief_handlers_inline = brief_handlers_inline;
    auto server = Server::bind(options, router_, metrics_);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    serving_ = std::thread([this] { server_->run(); });
  }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
  }
  // Occupies the only worker: returns once /hold's handler runs, its answer still to come.
  std::future<Result<ClientReply>> hold_the_worker() {
    auto held = std::async(std::launch::async, [this] {
      auto client = HttpClient::create();
      return (*client)->get(url("/hold"));
    });
    holding_.get_future().wait();
    return held;
  }

  ManualClock clock_{TimePoint{std::chrono::seconds{1'700'000'000}}};
  auth::TokenService tokens_{crypto::SecretBytes::random(32), clock_, std::chrono::seconds{60}};
  Router router_{tokens_};
  Metrics metrics_;
  std::promise<void> holding_;
  void release() {
    if (!released_) release_.set_value();
    released_ = true;
  }

  std::promise<void> release_;
  bool released_ = false;
  std::mutex threads_mutex_;
  std::set<std::thread::id> brief_threads_;  // where /brief was answered
  std::unique_ptr<Server> server_;
  std::thread serving_;
};

TEST_F(ServerTest, BriefHandlersRunOnTheConnectionsThreadWhileEveryWorkerIsBusy) {
  start(/*brief_handlers_inline=*/true);
  auto held = hold_the_worker();
  auto client = HttpClient::create();
  ASSERT_TRUE(client);
  const auto brief = (*client)->get(url("/brief"));
  ASSERT_TRUE(brief) << brief.error().message;
  EXPECT_EQ(brief->status, 200);
  EXPECT_EQ(brief->body, "brief");
  release();
  const auto reply = held.get();
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->body, "held");
}

TEST_F(ServerTest, WithoutInlineHandlingBriefHandlersWaitForAWorker) {
  start(/*brief_handlers_inline=*/false);
  auto held = hold_the_worker();
  ClientOptions impatient;
  impatient.timeout = std::chrono::milliseconds{300};
  auto client = HttpClient::create(impatient);
  ASSERT_TRUE(client);
  // The only worker is held until released below, so this cannot be answered in time.
  EXPECT_FALSE((*client)->get(url("/brief")));
  release();
  ASSERT_TRUE(held.get());
}

TEST_F(ServerTest, ConnectionsAreSpreadOverTheIoThreadsAndAStopEndsEveryOne) {
  start(/*brief_handlers_inline=*/true);
  // Each client opens its own connection; the server hands them to its two I/O threads in turn.
  for (int i = 0; i < 2; ++i) {
    auto client = HttpClient::create();
    ASSERT_TRUE(client);
    const auto brief = (*client)->get(url("/brief"));
    ASSERT_TRUE(brief) << brief.error().message;
    EXPECT_EQ(brief->status, 200);
  }
  {
    std::lock_guard lock(threads_mutex_);
    EXPECT_EQ(brief_threads_.size(), 2u);
  }
  // run() returns only once every I/O thread's context has stopped: a context left running
  // would hang this join (and fail the test at CTest's timeout).
  server_->stop();
  serving_.join();
}

}  // namespace
}  // namespace kavach::http
