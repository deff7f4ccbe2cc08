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

TEST(TimeFormat, ParsesDateTimesWithAndWithoutZones) {
  EXPECT_EQ(parse_instant_ms("2023-11-14T22:13:20.123Z"), 1700000000123);
  EXPECT_EQ(parse_instant_ms("2023-11-14T22:13:20.123"), 1700000000123);  // ABDM: UTC
  EXPECT_EQ(parse_instant_ms("2023-11-15T03:43:20.123+05:30"), 1700000000123);
  EXPECT_EQ(parse_instant_ms("2023-11-14T17:13:20.1234567-05:00"), 1700000000123);
  EXPECT_EQ(parse_instant_ms("2023-11-14T22:13:20Z"), 1700000000000);
  EXPECT_EQ(parse_instant_ms("2000-02-29"), 951782400000);
  for (const auto& round_trip : {0LL, 1700000000123LL, 4102444799999LL})
    EXPECT_EQ(parse_instant_ms(format_instant_ms(round_trip)), round_trip);
}

TEST(TimeFormat, RefusesImpossibleOrMalformedInstants) {
  for (const char* bad : {"", "2023", "2023-02-30", "2023-13-01", "2023-11-14T24:00:00Z",
                          "2023-11-14T22:13", "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+5:30",
                          "2023-11-14 22:13:20Z", "2023-11-14T22:13:20ZZ", "20231114"}) {
    EXPECT_FALSE(parse_instant_ms(bad).has_value()) << bad;
  }
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
