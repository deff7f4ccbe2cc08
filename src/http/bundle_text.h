// A Bundle written as text with the stored resources' JSON spliced in as it is. Each stored
// resource is the server's own compact JSON (serialized when it was written, sealed and
// authenticated at rest), so parsing it only to serialize it again, as a boost::json tree of the
// whole Bundle would, costs a search about as much as opening the records did.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace kavach::http {

class BundleText {
 public:
  // `head` holds every member but "entry" (resourceType, type, total, link), in output order.
  explicit BundleText(const boost::json::object& head);

  // One entry: {"fullUrl": full_url, "resource": resource_json, "search": {"mode": search_mode}};
  // without "resource" when `resource_json` is empty (a deleted version in a history) and without
  // "search" when `search_mode` is empty.
  void add(std::string_view full_url, std::string_view resource_json,
           std::string_view search_mode = {});

  // The Bundle's JSON, without "entry" when nothing was added (FHIR's JSON has no empty arrays);
  // the builder is spent.
  std::string finish() &&;

 private:
  std::string text_;
  std::size_t entries_ = 0;
};

}  // namespace kavach::http
