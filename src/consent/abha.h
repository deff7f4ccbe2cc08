// ABHA identifiers, as India's health ID system writes them (see ../shared/reference/abdm.md).
//
// An ABHA number is 14 digits, shown "91-6865-3273-1326" and masked "XX-XXXX-XXXX-1326". ABDM
// publishes no check digit; every real example passes Luhn (mod 10), so Kavach issues numbers whose
// last digit is a Luhn check digit and refuses input that fails it, which catches every
// single-digit typo and most transpositions. An ABHA address is "name@suffix": the name at least 4
// and at most 32 characters of letters, digits and '.', not starting with a digit, with no '.' at
// either end; each number also owns the address "<14 digits>@suffix". Thread-safety: stateless
// functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace kavach::consent {

inline constexpr std::size_t kAbhaNumberDigits = 14;
inline constexpr std::size_t kAbhaAddressNameMin = 4;
inline constexpr std::size_t kAbhaAddressNameMax = 32;
inline constexpr std::size_t kCmSuffixMax = 16;

// The Luhn check digit ('0'..'9') that completes `digits` (all decimal digits).
char luhn_check_digit(std::string_view digits);

// A new number: 13 random digits (the first not 0) and the Luhn check digit. `random_below(n)`
// returns a uniform integer in [0, n).
std::string new_abha_number(const std::function<std::uint32_t(std::uint32_t)>& random_below);

// The 14 digits of an ABHA number given with or without the hyphens of the display form;
// kInvalidArgument naming the fault (length, a non-digit, a failed check digit).
Result<std::string> parse_abha_number(std::string_view text);
// "91-6865-3273-1326" from the 14 digits.
std::string format_abha_number(std::string_view digits);
// "XX-XXXX-XXXX-1326".
std::string mask_abha_number(std::string_view digits);

// A CM suffix ("sbx", "abdm"): 1 to 16 lower-case letters or digits.
bool valid_cm_suffix(std::string_view suffix);

struct AbhaAddress {
  std::string name;  // lower-cased
  std::string suffix;
  std::string text() const { return name + "@" + suffix; }
};

// Parses "name@suffix", lower-casing the name. The name of a number's own address is its 14 digits;
// any other name follows the rules above. kInvalidArgument naming the rule that failed.
Result<AbhaAddress> parse_abha_address(std::string_view text);
// True for a name a patient may choose (not the digits of a number).
bool valid_chosen_address_name(std::string_view name);

}  // namespace kavach::consent
