#include "common/time_format.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace kavach {
namespace {

TEST(TimeFormat, FormatsUtcInstantsWithMilliseconds) {
  EXPECT_EQ(format_instant_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_instant_ms(1700000000123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(format_instant_ms(951782400000), "2000-02-29T00:00:00.000Z");
}

Result<int> half(int value) {
  if (value % 2 != 0) return make_error(ErrorCode::kInvalidArgument, "odd");
  return value / 2;
}

Result<int> quarter(int value) {
  ASSIGN_OR_RETURN(const int halved, half(value));
  return half(halved);
}

TEST(Error, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_EQ(*quarter(8), 2);
  EXPECT_EQ(quarter(6).error().message, "odd");
  EXPECT_EQ(error_code_name(ErrorCode::kPermissionDenied), "permission_denied");
}

}  // namespace
}  // namespace kavach
