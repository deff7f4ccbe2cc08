#include "common/strict_json.h"

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include "common/limits.h"

namespace kavach {
namespace {

namespace json = boost::json;

// A first pass that only looks for repeated keys and numbers too large for a double.
class StrictnessCheck {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::string problem;

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    keys_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    keys_.pop_back();
    return true;
  }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
  bool on_key_part(json::string_view part, std::size_t, boost::system::error_code&) {
    key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(json::string_view part, std::size_t, boost::system::error_code& error) {
    key_.append(part.data(), part.size());
    if (!keys_.back().insert(key_).second) {
      problem = fmt::format("the key \"{}\" appears twice in one object", key_.substr(0, 100));
      error = json::error::syntax;
      return false;
    }
    key_.clear();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_double(double value, json::string_view, boost::system::error_code& error) {
    if (std::isfinite(value)) return true;
    problem = "a number is too large";
    error = json::error::syntax;
    return false;
  }
  bool on_bool(bool, boost::system::error_code&) { return true; }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

 private:
  std::vector<std::set<std::string>> keys_;
  std::string key_;
};

}  // namespace

Result<json::value> parse_strict_json(std::string_view text, std::string_view what) {
  json::parse_options options;
  options.max_depth = limits::kJsonDepthMax;
  boost::system::error_code error;
  json::value parsed = json::parse(text, error, {}, options);
  if (error) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("{} is not valid JSON: {}", what, error.message()));
  }
  json::basic_parser<StrictnessCheck> check(options);
  check.write_some(false, text.data(), text.size(), error);
  if (error) {
    return make_error(
        ErrorCode::kInvalidArgument,
        fmt::format("{} is not valid JSON: {}", what,
                    check.handler().problem.empty() ? error.message() : check.handler().problem));
  }
  return parsed;
}

}  // namespace kavach
