#include "http/backup_routes.h"

#include <sodium.h>

#include <boost/json.hpp>

#include "http/problem.h"

namespace kavach::http {
namespace {

namespace json = boost::json;

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Response octets(std::string body) {
  Response response;
  response.body = std::move(body);
  response.set_header("Content-Type", "application/octet-stream");
  response.set_header("Cache-Control", "no-store");
  return response;
}

Result<std::vector<std::string>> string_list(const json::value& value) {
  if (!value.is_array()) return make_error(ErrorCode::kInvalidArgument, "expected a list of ids");
  std::vector<std::string> ids;
  for (const auto& item : value.as_array()) {
    if (!item.is_string()) return make_error(ErrorCode::kInvalidArgument, "expected a list of ids");
    ids.emplace_back(item.as_string());
  }
  return ids;
}

Result<json::value> parse_body(const Request& request) {
  boost::system::error_code error;
  auto value = json::parse(request.body, error);
  if (error) return make_error(ErrorCode::kInvalidArgument, "the body is not JSON");
  return value;
}

}  // namespace

void add_backup_server_routes(Router& router, backup::DirectoryRepository& repository,
                              const BackupServerAuth& auth) {
  // Routes are public at the router (it knows node tokens, not this server's); each checks the
  // client token itself before anything else.
  const auto with_client_token = [auth](auto handler) {
    return [auth, handler](const Request& request, const RouteContext& context) -> Response {
      const std::string_view header = request.header("authorization");
      if (!header.starts_with("Bearer ") ||
          !constant_time_equal(header.substr(7), auth.client_token)) {
        return problem_response(401, "login", "a valid backup client token is required");
      }
      return handler(request, context);
    };
  };

  router.add("GET", "/v1/snapshots", Access::kPublic,
             with_client_token([&repository](const Request&, const RouteContext&) {
               auto snapshots = repository.snapshots();
               if (!snapshots) return problem_response(snapshots.error());
               json::array list;
               for (const auto& entry : *snapshots)
                 list.push_back(backup::snapshot_entry_json(entry));
               return json_response(200, json::object{{"snapshots", std::move(list)}});
             }));

  router.add("POST", "/v1/snapshots", Access::kPublic,
             with_client_token([&repository](const Request& request, const RouteContext&) {
               auto body = parse_body(request);
               if (!body) return problem_response(body.error());
               const auto* object = body->if_object();
               const auto* id = object ? object->if_contains("id") : nullptr;
               const auto* parent = object ? object->if_contains("parent") : nullptr;
               const auto* objects = object ? object->if_contains("objects") : nullptr;
               if (id == nullptr || !id->is_string() || parent == nullptr || !parent->is_string() ||
                   objects == nullptr) {
                 return problem_response(400, "invalid", "a snapshot needs id, parent and objects");
               }
               auto ids = string_list(*objects);
               if (!ids) return problem_response(ids.error());
               if (auto added = repository.add_snapshot(backup::SnapshotEntry{
                       std::string(id->as_string()), std::string(parent->as_string()), *ids, 0});
                   !added) {
                 return problem_response(added.error());
               }
               return json_response(201, json::object{{"id", id->as_string()}});
             }));

  router.add("POST", "/v1/objects/missing", Access::kPublic,
             with_client_token([&repository](const Request& request, const RouteContext&) {
               auto body = parse_body(request);
               if (!body) return problem_response(body.error());
               auto ids = string_list(*body);
               if (!ids) return problem_response(ids.error());
               auto missing = repository.missing_objects(*ids);
               if (!missing) return problem_response(missing.error());
               json::array list;
               for (const auto& id : *missing) list.emplace_back(id);
               return json_response(200, json::object{{"missing", std::move(list)}});
             }));

  router.add("POST", "/v1/objects/{id}", Access::kPublic,
             with_client_token([&repository](const Request& request, const RouteContext& context) {
               const auto& body = request.body;
               if (auto stored = repository.put_object(
                       context.param("id"),
                       std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
                   !stored) {
                 return problem_response(stored.error());
               }
               return json_response(201, json::object{{"id", context.param("id")}});
             }));

  router.add("GET", "/v1/objects/{id}", Access::kPublic,
             with_client_token([&repository](const Request&, const RouteContext& context) {
               auto object = repository.get_object(context.param("id"));
               if (!object) return problem_response(object.error());
               return octets(std::string(object->begin(), object->end()));
             }));

  router.add("GET", "/v1/retention", Access::kPublic,
             with_client_token([&repository](const Request&, const RouteContext&) {
               return json_response(200, json::object{{"days", repository.retention_days()}});
             }));

  // Admin routes answer only a request signed by the admin key; the client token is not enough.
  const auto admin_route = [&repository, auth](backup::AdminOperation operation) {
    return [&repository, auth, operation](const Request& request, const RouteContext&) {
      if (auth.admin == nullptr) {
        return problem_response(403, "forbidden", "this server was started without an admin key");
      }
      auto admin = auth.admin->open(request.body);
      if (!admin) return problem_response(admin.error());
      if (admin->operation != operation) {
        return problem_response(400, "invalid", "the signed request is for another operation");
      }
      if (operation == backup::AdminOperation::kRetention) {
        if (admin->argument < 0 || admin->argument > 36500) {
          return problem_response(400, "invalid", "retention is 0 to 36500 days");
        }
        if (auto set = repository.set_retention_days(static_cast<int>(admin->argument)); !set) {
          return problem_response(set.error());
        }
        return json_response(200, json::object{{"days", admin->argument}});
      }
      auto pruned = repository.prune(admin->argument);
      if (!pruned) return problem_response(pruned.error());
      return json_response(200, json::object{{"snapshots_removed", pruned->snapshots_removed},
                                             {"objects_removed", pruned->objects_removed}});
    };
  };
  router.add("POST", "/v1/admin/prune", Access::kPublic,
             admin_route(backup::AdminOperation::kPrune));
  router.add("POST", "/v1/admin/retention", Access::kPublic,
             admin_route(backup::AdminOperation::kRetention));
}

}  // namespace kavach::http
