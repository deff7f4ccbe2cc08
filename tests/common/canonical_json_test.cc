#include "common/canonical_json.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace kavach {
namespace {

std::string canonical(std::string_view json) { return *canonical_json(boost::json::parse(json)); }

// RFC 8785 section 3.2.2: the sample input and its canonical form.
// The numbers are built from C++ literals: Boost.JSON 1.81's parser may round a decimal with many
// digits to a neighbouring double (its precise mode arrived in 1.83). Artefacts carry only small
// integers, which it parses exactly.
TEST(CanonicalJson, MatchesTheRfc8785Example) {
  std::string input = R"({
    "numbers": [],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })";
  auto value = boost::json::parse(input);
  value.as_object()["numbers"] =
      boost::json::array{333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001};
  EXPECT_EQ(*canonical_json(value),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xE2\x82\xAC$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

// RFC 8785 section 3.2.3: names sort by UTF-16 code units, so U+1F600 (a surrogate pair, D83D)
// sorts before U+FB33 although its UTF-8 and code point are larger.
TEST(CanonicalJson, SortsNamesByUtf16CodeUnits) {
  const std::string input =
      "{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":\"Hebrew Letter Dalet "
      "With Dagesh\",\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":"
      "\"Control\",\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}";
  const std::string out = canonical(input);
  const std::vector<std::string> order = {
      "\\r", "1", "\xC2\x80", "\xC3\xB6", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xAC\xB3"};
  std::size_t last = 0;
  for (const auto& name : order) {
    const auto at = out.find("\"" + name + "\"");
    ASSERT_NE(at, std::string::npos) << name;
    EXPECT_GE(at, last) << name;
    last = at;
  }
}

// Values from RFC 8785 appendix B (IEEE 754 bit patterns and their ECMAScript text).
TEST(CanonicalJson, WritesNumbersAsEcmaScriptDoes) {
  EXPECT_EQ(ecmascript_number(0.0), "0");
  EXPECT_EQ(ecmascript_number(-0.0), "0");
  EXPECT_EQ(ecmascript_number(5e-324), "5e-324");
  EXPECT_EQ(ecmascript_number(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(ecmascript_number(9007199254740992.0), "9007199254740992");
  EXPECT_EQ(ecmascript_number(-9007199254740992.0), "-9007199254740992");
  EXPECT_EQ(ecmascript_number(295147905179352830000.0), "295147905179352830000");
  EXPECT_EQ(ecmascript_number(1e21), "1e+21");
  EXPECT_EQ(ecmascript_number(999999999999999900000.0), "999999999999999900000");
  EXPECT_EQ(ecmascript_number(0.000001), "0.000001");
  EXPECT_EQ(ecmascript_number(1e-7), "1e-7");
  EXPECT_EQ(ecmascript_number(-1.5e-7), "-1.5e-7");
  EXPECT_EQ(ecmascript_number(333333333.3333333), "333333333.3333333");
  EXPECT_EQ(ecmascript_number(123.0), "123");
  EXPECT_FALSE(ecmascript_number(std::numeric_limits<double>::quiet_NaN()).has_value());
  EXPECT_FALSE(ecmascript_number(std::numeric_limits<double>::infinity()).has_value());
}

TEST(CanonicalJson, IsTheSameForReorderedAndReformattedInput) {
  EXPECT_EQ(canonical(R"({"b": [1, {"z": 1, "a": 2}], "a": "x"})"),
            canonical("{\"a\":\"x\",\"b\":[1.0,{\"a\":2,\"z\":1e0}]}"));
  EXPECT_EQ(canonical(R"({"b": [1, {"z": 1, "a": 2}], "a": "x"})"),
            R"({"a":"x","b":[1,{"a":2,"z":1}]})");
}

}  // namespace
}  // namespace kavach
