#include "exchange/request_guard.h"

#include <gtest/gtest.h>

#include "common/time_format.h"

namespace kavach::exchange {
namespace {

class RequestGuardTest : public ::testing::Test {
 protected:
  ManualClock clock_{TimePoint{std::chrono::milliseconds{1'800'000'000'000}}};
  std::string at(std::int64_t offset_ms) const {
    return format_instant_ms(unix_ms(clock_.now()) + offset_ms);
  }
};

TEST_F(RequestGuardTest, ARequestIdIsUsedOnce) {
  RequestGuard guard(clock_);
  EXPECT_TRUE(guard.admit("5f7a535d-a3fd-416b-b069-c97d021fbacd", at(0)).has_value());
  auto again = guard.admit("5f7a535d-a3fd-416b-b069-c97d021fbacd", at(1000));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(guard.admit("6f7a535d-a3fd-416b-b069-c97d021fbacd", at(0)).has_value());
}

TEST_F(RequestGuardTest, TimestampsOutsideTheWindowAreRefused) {
  RequestGuard guard(clock_);
  EXPECT_EQ(guard.admit("a1", at(-61'000)).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(guard.admit("a2", at(9 * 60'000 + 1)).error().code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(guard.admit("a3", at(-59'000)).has_value());
  EXPECT_TRUE(guard.admit("a4", at(8 * 60'000)).has_value());
  // ABDM sends UTC without a zone; that is accepted too.
  EXPECT_TRUE(guard.admit("a5", at(0).substr(0, 23)).has_value());
  EXPECT_EQ(guard.admit("a6", "yesterday").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(guard.admit("", at(0)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(guard.admit("has spaces", at(0)).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(RequestGuardTest, IdsAreForgottenOnlyOnceTheirWindowHasPassed) {
  RequestGuard guard(clock_, 2);
  ASSERT_TRUE(guard.admit("r1", at(0)));
  ASSERT_TRUE(guard.admit("r2", at(0)));
  EXPECT_EQ(guard.admit("r3", at(0)).error().code, ErrorCode::kResourceExhausted);
  clock_.advance(std::chrono::minutes(5));
  EXPECT_EQ(guard.admit("r1", at(0)).error().code, ErrorCode::kAlreadyExists);
  clock_.advance(std::chrono::minutes(6));  // past the window: r1 can no longer be replayed
  EXPECT_TRUE(guard.admit("r3", at(0)).has_value());
}

}  // namespace
}  // namespace kavach::exchange
