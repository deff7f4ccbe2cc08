#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/strict_json.h"

namespace kavach {
namespace {

using ::testing::HasSubstr;

std::string refusal(std::string_view text) {
  const auto parsed = parse_strict_json(text, "the body");
  if (parsed) return "";
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  return parsed.error().message;
}

TEST(StrictJson, AcceptsOrdinaryJson) {
  const auto parsed = parse_strict_json(R"({"a":[{"b":1},{"b":2}],"c":{"b":1.5e3}})", "the body");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->at("c").at("b").as_double(), 1500.0);
}

TEST(StrictJson, RefusesWhatBoostWouldQuietlyAccept) {
  EXPECT_THAT(refusal(R"({"status":"final","status":"entered-in-error"})"),
              HasSubstr("\"status\" appears twice"));
  EXPECT_THAT(refusal(R"({"a":{"x":1,"y":2,"x":3}})"), HasSubstr("\"x\" appears twice"));
  // The same key in sibling objects is fine; only one object's keys must differ.
  EXPECT_EQ(refusal(R"([{"x":1},{"x":2}])"), "");
  EXPECT_THAT(refusal(R"({"value":1e999})"), HasSubstr("too large"));
}

TEST(StrictJson, RefusesMalformedInput) {
  EXPECT_THAT(refusal("{\"a\":\"\xff\"}"), HasSubstr("not valid JSON"));
  EXPECT_THAT(refusal(std::string(100, '[') + std::string(100, ']')), HasSubstr("not valid JSON"));
  EXPECT_THAT(refusal(R"({"a":1,})"), HasSubstr("not valid JSON"));
  EXPECT_THAT(refusal(""), HasSubstr("not valid JSON"));
}

}  // namespace
}  // namespace kavach
