#include "http/bundle_text.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace kavach::http {
namespace {

void append_string(std::string& out, std::string_view text) {
  out += boost::json::serialize(boost::json::string(text));
}

}  // namespace

BundleText::BundleText(const boost::json::object& head) : text_(boost::json::serialize(head)) {
  text_.pop_back();  // the closing brace, written by finish()
}

void BundleText::add(std::string_view full_url, std::string_view resource_json,
                     std::string_view search_mode) {
  if (entries_ == 0) {
    text_ += text_.size() > 1 ? ",\"entry\":[" : "\"entry\":[";
  } else {
    text_ += ',';
  }
  ++entries_;
  text_ += "{\"fullUrl\":";
  append_string(text_, full_url);
  if (!resource_json.empty()) {
    text_ += ",\"resource\":";
    text_ += resource_json;
  }
  if (!search_mode.empty()) {
    text_ += ",\"search\":{\"mode\":";
    append_string(text_, search_mode);
    text_ += '}';
  }
  text_ += '}';
}

std::string BundleText::finish() && {
  text_ += entries_ == 0 ? "}" : "]}";
  return std::move(text_);
}

}  // namespace kavach::http
