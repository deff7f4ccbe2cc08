#include "consent/abha.h"

#include <random>

#include <gtest/gtest.h>

namespace kavach::consent {
namespace {

TEST(AbhaNumber, AcceptsTheDisplayAndPlainForms) {
  // The example from abdm.md passes Luhn.
  EXPECT_EQ(*parse_abha_number("91-6865-3273-1326"), "91686532731326");
  EXPECT_EQ(*parse_abha_number("91686532731326"), "91686532731326");
  EXPECT_EQ(format_abha_number("91686532731326"), "91-6865-3273-1326");
  EXPECT_EQ(mask_abha_number("91686532731326"), "XX-XXXX-XXXX-1326");
}

TEST(AbhaNumber, RefusesEverySingleDigitTypo) {
  const std::string number = "91686532731326";
  for (std::size_t i = 0; i < number.size(); ++i) {
    for (char digit = '0'; digit <= '9'; ++digit) {
      if (digit == number[i]) continue;
      std::string typo = number;
      typo[i] = digit;
      auto parsed = parse_abha_number(typo);
      ASSERT_FALSE(parsed.has_value()) << typo;
      EXPECT_NE(parsed.error().message.find("check digit"), std::string::npos);
    }
  }
}

TEST(AbhaNumber, RefusesMalformedInputWithAReason) {
  EXPECT_NE(parse_abha_number("9168653273132").error().message.find("14 digits"),
            std::string::npos);
  EXPECT_NE(parse_abha_number("916865327313260").error().message.find("14 digits"),
            std::string::npos);
  EXPECT_NE(parse_abha_number("91-6865-3273-13a6").error().message.find("digits"),
            std::string::npos);
  EXPECT_FALSE(parse_abha_number("916-865-3273-1326").has_value());
  EXPECT_FALSE(parse_abha_number("").has_value());
}

TEST(AbhaNumber, IssuesNumbersThatPassTheirOwnCheck) {
  std::mt19937 random(7);
  const auto below = [&](std::uint32_t n) {
    return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(random);
  };
  for (int i = 0; i < 1000; ++i) {
    const std::string number = new_abha_number(below);
    ASSERT_EQ(number.size(), 14U);
    EXPECT_NE(number[0], '0');
    EXPECT_EQ(*parse_abha_number(number), number);
  }
}

TEST(AbhaAddress, FollowsTheNamingRules) {
  EXPECT_EQ(parse_abha_address("Hina.Patel79@sbx")->text(), "hina.patel79@sbx");
  EXPECT_EQ(parse_abha_address("91686532731326@abdm")->name, "91686532731326");
  for (const char* bad : {"hin@sbx", "9hina@sbx", ".hina@sbx", "hina.@sbx", "hina_p@sbx", "hina@",
                          "@sbx", "hina@SBX", "hina@sbx@sbx", "hina",
                          "91686532731327@sbx",  // a number's address must pass the check
                          "abcdefghijklmnopqrstuvwxyzabcdefg@sbx"}) {
    EXPECT_FALSE(parse_abha_address(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace kavach::consent
