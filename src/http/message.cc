#include "http/message.h"

#include <strings.h>

namespace kavach::http {

std::string_view Request::header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) return value;
  }
  return {};
}

Response& Response::set_header(std::string name, std::string value) {
  for (auto& [existing, existing_value] : headers) {
    if (::strcasecmp(existing.c_str(), name.c_str()) == 0) {
      existing_value = std::move(value);
      return *this;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

std::string_view Response::header(std::string_view name) const {
  for (const auto& [existing, value] : headers) {
    if (existing.size() == name.size() &&
        ::strncasecmp(existing.data(), name.data(), name.size()) == 0) {
      return value;
    }
  }
  return {};
}

}  // namespace kavach::http
