#include "common/canonical_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace kavach {
namespace {

// UTF-16 code units of valid UTF-8 (Boost.JSON validates strings when it parses them).
std::u16string utf16_units(std::string_view utf8) {
  std::u16string units;
  units.reserve(utf8.size());
  for (std::size_t i = 0; i < utf8.size();) {
    const auto lead = static_cast<unsigned char>(utf8[i]);
    std::uint32_t code_point = lead;
    std::size_t length = 1;
    if (lead >= 0xF0) {
      code_point = lead & 0x07U;
      length = 4;
    } else if (lead >= 0xE0) {
      code_point = lead & 0x0FU;
      length = 3;
    } else if (lead >= 0xC0) {
      code_point = lead & 0x1FU;
      length = 2;
    }
    for (std::size_t k = 1; k < length && i + k < utf8.size(); ++k)
      code_point = (code_point << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3FU);
    i += length;
    if (code_point >= 0x10000) {
      code_point -= 0x10000;
      units.push_back(static_cast<char16_t>(0xD800 + (code_point >> 10)));
      units.push_back(static_cast<char16_t>(0xDC00 + (code_point & 0x3FF)));
    } else {
      units.push_back(static_cast<char16_t>(code_point));
    }
  }
  return units;
}

void append_string(std::string& out, std::string_view text) {
  out.push_back('"');
  append_escaped_json(out, text);
  out.push_back('"');
}

Status append_value(std::string& out, const boost::json::value& value);

Status append_number(std::string& out, double number) {
  auto text = ecmascript_number(number);
  if (!text) return make_error(ErrorCode::kInvalidArgument, "JSON has no NaN or infinity");
  out += *text;
  return {};
}

Status append_object(std::string& out, const boost::json::object& object) {
  std::vector<std::pair<std::u16string, const boost::json::key_value_pair*>> members;
  members.reserve(object.size());
  for (const auto& member : object) members.emplace_back(utf16_units(member.key()), &member);
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  out.push_back('{');
  bool first = true;
  for (const auto& [units, member] : members) {
    if (!first) out.push_back(',');
    first = false;
    append_string(out, member->key());
    out.push_back(':');
    RETURN_IF_ERROR(append_value(out, member->value()));
  }
  out.push_back('}');
  return {};
}

Status append_value(std::string& out, const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null:
      out += "null";
      return {};
    case boost::json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      return {};
    // JSON numbers are IEEE doubles in RFC 8785, so integers beyond 2^53 round as they would there.
    case boost::json::kind::int64:
      return append_number(out, static_cast<double>(value.get_int64()));
    case boost::json::kind::uint64:
      return append_number(out, static_cast<double>(value.get_uint64()));
    case boost::json::kind::double_:
      return append_number(out, value.get_double());
    case boost::json::kind::string:
      append_string(out, value.get_string());
      return {};
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : value.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        RETURN_IF_ERROR(append_value(out, element));
      }
      out.push_back(']');
      return {};
    }
    case boost::json::kind::object:
      return append_object(out, value.get_object());
  }
  return make_error(ErrorCode::kInternal, "unknown JSON kind");
}

}  // namespace

void append_escaped_json(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out.push_back(c);
        }
    }
  }
}

std::optional<std::string> ecmascript_number(double value) {
  if (!std::isfinite(value)) return std::nullopt;
  if (value == 0) return "0";  // both zeros
  // The shortest digits that round-trip, as "d.ddde±x"; ECMAScript picks the same digits.
  char buffer[64];
  const auto [end, error] = std::to_chars(std::begin(buffer), std::end(buffer), std::fabs(value),
                                          std::chars_format::scientific);
  if (error != std::errc()) return std::nullopt;
  const std::string_view scientific(buffer, static_cast<std::size_t>(end - buffer));
  const auto e = scientific.find('e');
  std::string digits;
  for (const char c : scientific.substr(0, e))
    if (c != '.') digits.push_back(c);
  int exponent = 0;
  const auto exponent_text = scientific.substr(e + 1);
  std::from_chars(exponent_text.data() + (exponent_text.front() == '+' ? 1 : 0),
                  exponent_text.data() + exponent_text.size(), exponent);
  // ECMA-262 Number::toString with k digits and the decimal point after n of them.
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  std::string out = value < 0 ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n)) + "." +
           digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{}", n - 1 >= 0 ? "+" : "-", std::abs(n - 1));
  }
  return out;
}

Result<std::string> canonical_json(const boost::json::value& value) {
  std::string out;
  RETURN_IF_ERROR(append_value(out, value));
  return out;
}

}  // namespace kavach
