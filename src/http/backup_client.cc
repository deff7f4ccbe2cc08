#include "http/backup_client.h"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace kavach::http {
namespace {

namespace json = boost::json;

// The largest object a server may answer with: a segment is cut at 4 MiB before compression,
// and sealing adds 40 bytes; the rest is headroom for larger configured segments.
constexpr std::size_t kResponseBytesMax = 64 * 1024 * 1024;

// The error a non-2xx answer means, with the server's message when it sent one.
Error reply_error(const ClientReply& reply, std::string_view what) {
  std::string detail;
  boost::system::error_code error;
  const auto body = json::parse(reply.body, error);
  if (!error && body.is_object()) {
    if (const auto* issue = body.as_object().if_contains("issue");
        issue != nullptr && issue->is_array() && !issue->as_array().empty()) {
      if (const auto* diagnostics = issue->as_array()[0].as_object().if_contains("diagnostics");
          diagnostics != nullptr && diagnostics->is_string()) {
        detail = std::string(diagnostics->as_string());
      }
    }
  }
  ErrorCode code = ErrorCode::kUnavailable;
  switch (reply.status) {
    case 400:
      code = ErrorCode::kInvalidArgument;
      break;
    case 401:
      code = ErrorCode::kUnauthenticated;
      break;
    case 403:
      code = ErrorCode::kPermissionDenied;
      break;
    case 404:
      code = ErrorCode::kNotFound;
      break;
    case 409:
      code = ErrorCode::kConflict;
      break;
    case 412:
      code = ErrorCode::kFailedPrecondition;
      break;
    default:
      break;
  }
  return Error{code, fmt::format("backup server: {} failed ({}){}{}", what, reply.status,
                                 detail.empty() ? "" : ": ", detail)};
}

Result<json::value> reply_json(const ClientReply& reply) {
  boost::system::error_code error;
  auto value = json::parse(reply.body, error);
  if (error) return make_error(ErrorCode::kUnavailable, "backup server: an answer is not JSON");
  return value;
}

}  // namespace

Result<std::unique_ptr<RemoteRepository>> RemoteRepository::connect(std::string base_url,
                                                                    std::string token,
                                                                    ClientOptions options) {
  while (base_url.ends_with('/')) base_url.pop_back();
  RETURN_IF_ERROR(parse_url(base_url + "/"));
  options.max_response_bytes = std::max(options.max_response_bytes, kResponseBytesMax);
  ASSIGN_OR_RETURN(auto client, HttpClient::create(std::move(options)));
  return std::unique_ptr<RemoteRepository>(
      new RemoteRepository(std::move(base_url), std::move(token), std::move(client)));
}

HttpClient::HeaderList RemoteRepository::auth() const {
  return {{"Authorization", "Bearer " + token_}};
}

Status RemoteRepository::put_object(const std::string& id, std::span<const std::uint8_t> object) {
  ASSIGN_OR_RETURN(
      const auto reply,
      client_->post(fmt::format("{}/v1/objects/{}", base_url_, id), "application/octet-stream",
                    std::string(object.begin(), object.end()), auth()));
  if (reply.status != 201) return tl::unexpected(reply_error(reply, "storing an object"));
  return {};
}

Result<std::vector<std::string>> RemoteRepository::missing_objects(
    const std::vector<std::string>& ids) {
  json::array list;
  for (const auto& id : ids) list.emplace_back(id);
  ASSIGN_OR_RETURN(const auto reply,
                   client_->post(fmt::format("{}/v1/objects/missing", base_url_),
                                 "application/json", json::serialize(list), auth()));
  if (reply.status != 200) return tl::unexpected(reply_error(reply, "checking objects"));
  ASSIGN_OR_RETURN(const auto body, reply_json(reply));
  std::vector<std::string> missing;
  const auto* object = body.if_object();
  const auto* items = object ? object->if_contains("missing") : nullptr;
  if (items == nullptr || !items->is_array()) {
    return make_error(ErrorCode::kUnavailable, "backup server: a malformed answer");
  }
  for (const auto& item : items->as_array()) {
    if (!item.is_string())
      return make_error(ErrorCode::kUnavailable, "backup server: a malformed answer");
    missing.emplace_back(item.as_string());
  }
  return missing;
}

Result<backup::Bytes> RemoteRepository::get_object(const std::string& id) {
  ASSIGN_OR_RETURN(const auto reply,
                   client_->get(fmt::format("{}/v1/objects/{}", base_url_, id), auth()));
  if (reply.status != 200) return tl::unexpected(reply_error(reply, "reading an object"));
  return backup::Bytes(reply.body.begin(), reply.body.end());
}

Status RemoteRepository::add_snapshot(const backup::SnapshotEntry& entry) {
  json::array objects;
  for (const auto& id : entry.objects) objects.emplace_back(id);
  const json::object body{{"id", entry.id}, {"parent", entry.parent}, {"objects", objects}};
  ASSIGN_OR_RETURN(const auto reply,
                   client_->post(fmt::format("{}/v1/snapshots", base_url_), "application/json",
                                 json::serialize(body), auth()));
  if (reply.status != 201) return tl::unexpected(reply_error(reply, "listing a snapshot"));
  return {};
}

Result<std::vector<backup::SnapshotEntry>> RemoteRepository::snapshots() {
  ASSIGN_OR_RETURN(const auto reply,
                   client_->get(fmt::format("{}/v1/snapshots", base_url_), auth()));
  if (reply.status != 200) return tl::unexpected(reply_error(reply, "listing snapshots"));
  ASSIGN_OR_RETURN(const auto body, reply_json(reply));
  const auto malformed = [] {
    return make_error(ErrorCode::kUnavailable, "backup server: a malformed snapshot list");
  };
  const auto* object = body.if_object();
  const auto* list = object ? object->if_contains("snapshots") : nullptr;
  if (list == nullptr || !list->is_array()) return malformed();
  std::vector<backup::SnapshotEntry> entries;
  for (const auto& item : list->as_array()) {
    auto entry = backup::snapshot_entry_from_json(item);
    if (!entry) return malformed();
    entries.push_back(std::move(*entry));
  }
  return entries;
}

Result<std::string> RemoteRepository::send_admin_request(std::string_view note,
                                                         backup::AdminOperation operation) {
  const std::string_view path = operation == backup::AdminOperation::kPrune ? "prune" : "retention";
  ASSIGN_OR_RETURN(const auto reply, client_->post(fmt::format("{}/v1/admin/{}", base_url_, path),
                                                   "text/plain", std::string(note)));
  if (reply.status != 200) return tl::unexpected(reply_error(reply, "the admin request"));
  return reply.body;
}

}  // namespace kavach::http
