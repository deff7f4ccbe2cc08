// NameCache: display names for the ids a response lists (facilities, clients), each looked up
// once per response however many rows name it.
// Thread-safety: one per response; not shared.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>

namespace kavach::http {

class NameCache {
 public:
  // `lookup` gives the name of an id, or what to show when it has none.
  explicit NameCache(std::function<std::string(const std::string& id)> lookup)
      : lookup_(std::move(lookup)) {}

  const std::string& operator()(const std::string& id) {
    auto found = names_.find(id);
    if (found == names_.end()) found = names_.emplace(id, lookup_(id)).first;
    return found->second;
  }

 private:
  std::function<std::string(const std::string& id)> lookup_;
  std::map<std::string, std::string> names_;
};

}  // namespace kavach::http
