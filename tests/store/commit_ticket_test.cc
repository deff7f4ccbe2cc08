// CommitTicket on its own: outcomes, callbacks and waiters across threads.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "store/store.h"

namespace kavach::store {
namespace {

TEST(CommitTicket, AWaiterReturnsOnlyOnceTheCallbackHasRun) {
  CommitTicket ticket;
  std::atomic<bool> callback_done{false};
  ticket.when_done([&](const Result<CommitReceipt>&) {
    // Long enough that a waiter woken by the outcome alone would look before this ends.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    callback_done = true;
  });
  std::thread completer([&] { ticket.complete(CommitReceipt{3, 4}); });
  const auto outcome = ticket.wait();
  EXPECT_TRUE(callback_done);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->first_sequence, 3);
  completer.join();
}

TEST(CommitTicket, TheFirstOutcomeCountsAndALateCallbackRunsAtOnce) {
  CommitTicket ticket;
  ticket.complete(make_error(ErrorCode::kUnavailable, "disk full"));
  ticket.complete(CommitReceipt{1, 1});
  std::optional<Result<CommitReceipt>> seen;
  ticket.when_done([&](const Result<CommitReceipt>& outcome) { seen = outcome; });
  ASSERT_TRUE(seen.has_value());
  ASSERT_FALSE(*seen);
  EXPECT_EQ(seen->error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(ticket.wait());

  const auto done = CommitTicket::done(CommitReceipt{7, 7});
  ASSERT_TRUE(done.wait());
  EXPECT_EQ(done.wait()->first_sequence, 7);
}

}  // namespace
}  // namespace kavach::store
