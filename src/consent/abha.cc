#include "consent/abha.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace kavach::consent {
namespace {

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

}  // namespace

char luhn_check_digit(std::string_view digits) {
  // Doubling starts at the rightmost digit of the payload, since the check digit will follow it.
  int sum = 0;
  bool double_it = true;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int digit = *it - '0';
    if (double_it) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double_it = !double_it;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

std::string new_abha_number(const std::function<std::uint32_t(std::uint32_t)>& random_below) {
  std::string digits;
  digits.reserve(kAbhaNumberDigits);
  digits.push_back(static_cast<char>('1' + random_below(9)));
  while (digits.size() < kAbhaNumberDigits - 1)
    digits.push_back(static_cast<char>('0' + random_below(10)));
  digits.push_back(luhn_check_digit(digits));
  return digits;
}

Result<std::string> parse_abha_number(std::string_view text) {
  std::string digits;
  if (text.size() > kAbhaNumberDigits + 3) {
    return make_error(ErrorCode::kInvalidArgument, "an ABHA number is 14 digits");
  }
  // Hyphens only where the display form puts them: 2-4-4-4.
  static constexpr std::size_t kHyphenPositions[] = {2, 7, 12};
  const bool hyphenated = text.size() == kAbhaNumberDigits + 3;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool hyphen_here =
        hyphenated && std::find(std::begin(kHyphenPositions), std::end(kHyphenPositions), i) !=
                          std::end(kHyphenPositions);
    if (hyphen_here) {
      if (c != '-')
        return make_error(ErrorCode::kInvalidArgument,
                          "an ABHA number is written XX-XXXX-XXXX-XXXX");
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return make_error(ErrorCode::kInvalidArgument,
                        "an ABHA number has only digits (and optional hyphens)");
    }
    digits.push_back(c);
  }
  if (digits.size() != kAbhaNumberDigits) {
    return make_error(ErrorCode::kInvalidArgument, "an ABHA number is 14 digits");
  }
  const std::string_view payload(digits.data(), kAbhaNumberDigits - 1);
  if (luhn_check_digit(payload) != digits.back()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the ABHA number fails its check digit: please check for a typo");
  }
  return digits;
}

std::string format_abha_number(std::string_view digits) {
  if (digits.size() != kAbhaNumberDigits) return std::string(digits);
  return fmt::format("{}-{}-{}-{}", digits.substr(0, 2), digits.substr(2, 4), digits.substr(6, 4),
                     digits.substr(10, 4));
}

std::string mask_abha_number(std::string_view digits) {
  if (digits.size() != kAbhaNumberDigits) return "XX-XXXX-XXXX-XXXX";
  return fmt::format("XX-XXXX-XXXX-{}", digits.substr(10, 4));
}

bool valid_cm_suffix(std::string_view suffix) {
  return !suffix.empty() && suffix.size() <= kCmSuffixMax &&
         std::all_of(suffix.begin(), suffix.end(), [](char c) {
           return std::islower(static_cast<unsigned char>(c)) ||
                  std::isdigit(static_cast<unsigned char>(c));
         });
}

bool valid_chosen_address_name(std::string_view name) {
  if (name.size() < kAbhaAddressNameMin || name.size() > kAbhaAddressNameMax) return false;
  if (std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  if (name.front() == '.' || name.back() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.';
  });
}

Result<AbhaAddress> parse_abha_address(std::string_view text) {
  const auto at = text.find('@');
  if (at == std::string_view::npos || text.find('@', at + 1) != std::string_view::npos) {
    return make_error(ErrorCode::kInvalidArgument, "an ABHA address is name@suffix");
  }
  AbhaAddress address;
  address.suffix = std::string(text.substr(at + 1));
  if (!valid_cm_suffix(address.suffix)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the suffix of an ABHA address is 1 to 16 lower-case letters or digits");
  }
  std::string name(text.substr(0, at));
  std::transform(name.begin(), name.end(), name.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  if (all_digits(name)) {
    ASSIGN_OR_RETURN(address.name, parse_abha_number(name));
    return address;
  }
  if (!valid_chosen_address_name(name)) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "an ABHA address name is 4 to 32 letters, digits or '.', not starting with a digit "
        "or starting or ending with '.'");
  }
  address.name = std::move(name);
  return address;
}

}  // namespace kavach::consent
