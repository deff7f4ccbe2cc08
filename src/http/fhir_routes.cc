// FHIR R4 REST interactions at /fhir/R4: thin handlers over fhir::ResourceService.
#include <charconv>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/time_format.h"
#include "fhir/resource_types.h"
#include "http/api.h"
#include "http/problem.h"

namespace kavach::http {
namespace {

constexpr std::string_view kBase = "/fhir/R4";

bool is_json_content(std::string_view content_type) {
  return content_type.starts_with("application/fhir+json") ||
         content_type.starts_with("application/json");
}

using fhir::parse_etag;
using fhir::parse_version;

Response resource_response(int status, const fhir::StoredResource& resource, bool minimal) {
  Response response;
  response.status = status;
  response.set_header("Content-Type", std::string(kFhirJson));
  response.set_header("ETag", fmt::format("W/\"{}\"", resource.version));
  response.set_header("Last-Modified", format_instant_ms(resource.last_updated_ms));
  if (status == 201) {
    response.set_header("Location", fmt::format("{}/{}/{}/_history/{}", kBase, resource.type,
                                                resource.id, resource.version));
  }
  if (!minimal) response.body = resource.json;
  return response;
}

// The transaction-response or batch-response Bundle for a processed Bundle.
boost::json::object bundle_response_of(const fhir::BundleOutcome& outcome) {
  using Kind = fhir::BundleEntryOutcome::Kind;
  boost::json::array entries;
  for (const auto& entry : outcome.entries) {
    boost::json::object response;
    switch (entry.kind) {
      case Kind::kCreated:
        response["status"] = "201 Created";
        break;
      case Kind::kUpdated:
      case Kind::kMatched:
      case Kind::kRead:
        response["status"] = "200 OK";
        break;
      case Kind::kDeleted:
      case Kind::kNothing:
        response["status"] = "204 No Content";
        break;
      case Kind::kFailed: {
        const auto problem = problem_response(*entry.error);
        response["status"] = std::to_string(problem.status);
        response["outcome"] = boost::json::parse(problem.body);
        break;
      }
    }
    boost::json::object item;
    if (entry.resource) {
      const auto& resource = *entry.resource;
      if (resource.version > 0) {
        response["location"] =
            fmt::format("{}/{}/_history/{}", resource.type, resource.id, resource.version);
        response["etag"] = fmt::format("W/\"{}\"", resource.version);
      } else {
        response["location"] = fmt::format("{}/{}", resource.type, resource.id);
      }
      item["fullUrl"] = fmt::format("{}/{}/{}", kBase, resource.type, resource.id);
      if (entry.kind == Kind::kRead) item["resource"] = boost::json::parse(resource.json);
    }
    item["response"] = std::move(response);
    entries.push_back(std::move(item));
  }
  return boost::json::object{
      {"resourceType", "Bundle"},
      {"type", outcome.transaction ? "transaction-response" : "batch-response"},
      {"entry", std::move(entries)}};
}

bool prefers_minimal(const Request& request) {
  return request.header("prefer").find("return=minimal") != std::string_view::npos;
}

std::optional<Response> refuse_body(const Request& request) {
  if (!is_json_content(request.header("content-type"))) {
    return problem_response(415, "not-supported", "send application/fhir+json");
  }
  return std::nullopt;
}

boost::json::object bundle(std::string_view type,
                           const std::vector<fhir::StoredResource>& resources) {
  boost::json::array entries;
  for (const auto& resource : resources) {
    boost::json::object entry{
        {"fullUrl", fmt::format("{}/{}/{}", kBase, resource.type, resource.id)}};
    if (!resource.deleted) entry["resource"] = boost::json::parse(resource.json);
    entries.push_back(std::move(entry));
  }
  return boost::json::object{
      {"resourceType", "Bundle"}, {"type", type}, {"entry", std::move(entries)}};
}

Response bundle_response(boost::json::object bundle_object) {
  Response response;
  response.body = boost::json::serialize(bundle_object);
  response.set_header("Content-Type", std::string(kFhirJson));
  return response;
}

Response capability_statement() {
  boost::json::array resources;
  for (const std::string_view type : fhir::supported_types()) {
    boost::json::array interactions;
    for (const char* code : {"read", "vread", "update", "patch", "delete", "history-instance",
                             "history-type", "create", "search-type"}) {
      interactions.push_back(boost::json::object{{"code", code}});
    }
    resources.push_back(boost::json::object{{"type", type},
                                            {"versioning", "versioned-update"},
                                            {"readHistory", true},
                                            {"updateCreate", true},
                                            {"conditionalCreate", true},
                                            {"conditionalUpdate", true},
                                            {"conditionalDelete", "single"},
                                            {"interaction", std::move(interactions)}});
    if (type == "Patient") {
      resources.back().as_object()["operation"] = boost::json::array{boost::json::object{
          {"name", "everything"},
          {"definition", "http://hl7.org/fhir/OperationDefinition/Patient-everything"}}};
    }
  }
  // The audit log, searchable by patient with the kavach/audit scope; each event carries its
  // inclusion proof.
  resources.push_back(boost::json::object{
      {"type", "AuditEvent"},
      {"interaction", boost::json::array{boost::json::object{{"code", "search-type"}}}},
      {"searchParam",
       boost::json::array{boost::json::object{{"name", "patient"}, {"type", "reference"}}}}});
  const boost::json::object statement{
      {"resourceType", "CapabilityStatement"},
      {"status", "active"},
      {"kind", "instance"},
      {"date", "2026-11-28"},
      {"fhirVersion", "4.0.1"},
      {"format", boost::json::array{"application/fhir+json"}},
      {"software", boost::json::object{{"name", "Kavach"}, {"version", "0.1.0"}}},
      {"rest",
       boost::json::array{boost::json::object{
           {"mode", "server"},
           {"security", boost::json::object{{"description",
                                             "OAuth 2.0 client credentials at /oauth2/token; "
                                             "SMART v2 system scopes"}}},
           {"resource", std::move(resources)},
           {"interaction", boost::json::array{boost::json::object{{"code", "transaction"}},
                                              boost::json::object{{"code", "batch"}}}}}}}};
  Response response;
  response.body = boost::json::serialize(statement);
  response.set_header("Content-Type", std::string(kFhirJson));
  return response;
}

}  // namespace

void add_fhir_routes(Router& router, const ApiServices& services) {
  auto& resources = services.resources;
  const std::string base(kBase);

  router.add("POST", base, Access::kBearerToken,
             [&resources](const Request& request, const RouteContext& context) {
               if (auto refused = refuse_body(request)) return *refused;
               auto outcome = resources.process_bundle(*context.caller, request.body);
               if (!outcome) return problem_response(outcome.error());
               return bundle_response(bundle_response_of(*outcome));
             });

  router.add("GET", base + "/metadata", Access::kPublic,
             [](const Request&, const RouteContext&) { return capability_statement(); });

  // Before the generic /{type} routes: AuditEvent is the audit log's view, not a stored type.
  router.add(
      "GET", base + "/AuditEvent", Access::kBearerToken,
      [&events = services.audit_events](const Request& request, const RouteContext& context) {
        fhir::AuditEventQuery query;
        for (auto& [name, value] : parse_query(request.query)) {
          if (name == "patient") {
            query.patient = value.starts_with("Patient/") ? value.substr(8) : value;
          } else if (name == "_count") {
            query.count = static_cast<std::size_t>(parse_version(value).value_or(50));
          } else if (name == "_cursor") {
            const auto [end, error] =
                std::from_chars(value.data(), value.data() + value.size(), query.after);
            if (error != std::errc() || end != value.data() + value.size() || query.after < 0) {
              return problem_response(400, "invalid", "a bad _cursor");
            }
          } else if (name != "_format") {
            return problem_response(400, "not-supported",
                                    fmt::format("AuditEvent is searched by patient only, "
                                                "not by '{}'",
                                                name));
          }
        }
        auto page = events.search(*context.caller, query);
        if (!page) return problem_response(page.error());
        if (page->next_after >= 0) {
          std::string next = fmt::format("{}/AuditEvent?", kBase);
          if (!query.patient.empty()) {
            next += fmt::format("patient={}&", percent_encode(query.patient));
          }
          next += fmt::format("_count={}&_cursor={}", query.count, page->next_after);
          page->bundle["link"] =
              boost::json::array{boost::json::object{{"relation", "next"}, {"url", next}}};
        }
        return bundle_response(std::move(page->bundle));
      });

  router.add(
      "POST", base + "/{type}", Access::kBearerToken,
      [&resources](const Request& request, const RouteContext& context) {
        if (auto refused = refuse_body(request)) return *refused;
        if (const auto criteria = request.header("if-none-exist"); !criteria.empty()) {
          auto outcome = resources.create_if_none_exist(
              *context.caller, context.param("type"), request.body,
              fhir::search_criteria(criteria.starts_with('?') ? criteria.substr(1) : criteria));
          if (!outcome) return problem_response(outcome.error());
          return resource_response(outcome->created ? 201 : 200, outcome->resource,
                                   prefers_minimal(request));
        }
        auto created = resources.create(*context.caller, context.param("type"), request.body);
        if (!created) return problem_response(created.error());
        return resource_response(201, *created, prefers_minimal(request));
      });

  router.add("PUT", base + "/{type}", Access::kBearerToken,
             [&resources](const Request& request, const RouteContext& context) {
               if (auto refused = refuse_body(request)) return *refused;
               auto outcome =
                   resources.update_where(*context.caller, context.param("type"),
                                          fhir::search_criteria(request.query), request.body);
               if (!outcome) return problem_response(outcome.error());
               return resource_response(outcome->created ? 201 : 200, outcome->resource,
                                        prefers_minimal(request));
             });

  router.add("DELETE", base + "/{type}", Access::kBearerToken,
             [&resources](const Request& request, const RouteContext& context) {
               auto removed = resources.remove_where(*context.caller, context.param("type"),
                                                     fhir::search_criteria(request.query));
               if (!removed) return problem_response(removed.error());
               Response response;
               response.status = 204;
               if (*removed)
                 response.set_header("ETag", fmt::format("W/\"{}\"", (*removed)->version));
               return response;
             });

  router.add("GET", base + "/{type}", Access::kBearerToken,
             [&resources](const Request& request, const RouteContext& context) {
               fhir::SearchRequest search{context.param("type"), {}, 20, ""};
               for (auto& [name, value] : parse_query(request.query)) {
                 if (name == "_count") {
                   search.count = static_cast<std::size_t>(parse_version(value).value_or(20));
                 } else if (name == "_cursor") {
                   search.after_id = value;
                 } else if (name != "_format") {
                   search.parameters.emplace_back(name, value);
                 }
               }
               auto page = resources.search(*context.caller, search);
               if (!page) return problem_response(page.error());
               auto result = bundle("searchset", page->resources);
               if (!page->next_after_id.empty()) {
                 std::string next = fmt::format("{}/{}?", kBase, search.type);
                 for (const auto& [name, value] : search.parameters) {
                   next += fmt::format("{}={}&", percent_encode(name), percent_encode(value));
                 }
                 next += fmt::format("_count={}&_cursor={}", search.count,
                                     percent_encode(page->next_after_id));
                 result["link"] =
                     boost::json::array{boost::json::object{{"relation", "next"}, {"url", next}}};
               }
               return bundle_response(std::move(result));
             });

  // Before /{type}/{id}: "_history" is not an id.
  router.add("GET", base + "/{type}/_history", Access::kBearerToken,
             [&resources](const Request& request, const RouteContext& context) {
               std::size_t count = 100;
               std::int64_t before = 0;
               for (const auto& [name, value] : parse_query(request.query)) {
                 if (name == "_count") {
                   count = static_cast<std::size_t>(parse_version(value).value_or(100));
                 } else if (name == "_cursor") {
                   const auto cursor = parse_version(value);
                   if (!cursor) return problem_response(400, "invalid", "a bad _cursor");
                   before = *cursor;
                 }
               }
               const auto& type = context.param("type");
               auto page = resources.type_history(*context.caller, type, before, count);
               if (!page) return problem_response(page.error());
               auto result = bundle("history", page->versions);
               if (page->next_before != 0) {
                 result["link"] = boost::json::array{boost::json::object{
                     {"relation", "next"},
                     {"url", fmt::format("{}/{}/_history?_count={}&_cursor={}", kBase, type, count,
                                         page->next_before)}}};
               }
               return bundle_response(std::move(result));
             });

  router.add("GET", base + "/Patient/{id}/$everything", Access::kBearerToken,
             [&resources](const Request& request, const RouteContext& context) {
               std::size_t count = 100;
               std::string after;
               for (auto& [name, value] : parse_query(request.query)) {
                 if (name == "_count") {
                   count = static_cast<std::size_t>(parse_version(value).value_or(100));
                 } else if (name == "_cursor") {
                   after = std::move(value);
                 }
               }
               const auto& id = context.param("id");
               auto page = resources.everything(*context.caller, id, after, count);
               if (!page) return problem_response(page.error());
               auto result = bundle("searchset", page->resources);
               if (!page->next_after_id.empty()) {
                 result["link"] = boost::json::array{boost::json::object{
                     {"relation", "next"},
                     {"url", fmt::format("{}/Patient/{}/$everything?_count={}&_cursor={}", kBase,
                                         id, count, percent_encode(page->next_after_id))}}};
               }
               return bundle_response(std::move(result));
             });

  router.add("GET", base + "/{type}/{id}", Access::kBearerToken,
             [&resources](const Request&, const RouteContext& context) {
               auto found =
                   resources.read(*context.caller, context.param("type"), context.param("id"));
               if (!found) return problem_response(found.error());
               return resource_response(200, *found, false);
             });

  router.add("PUT", base + "/{type}/{id}", Access::kBearerToken,
             [&resources](const Request& request, const RouteContext& context) {
               if (auto refused = refuse_body(request)) return *refused;
               std::optional<std::int64_t> if_match;
               if (const auto etag = request.header("if-match"); !etag.empty()) {
                 if_match = parse_etag(etag);
                 if (!if_match)
                   return problem_response(400, "invalid", "If-Match must be W/\"<version>\"");
               }
               auto updated = resources.update(*context.caller, context.param("type"),
                                               context.param("id"), request.body, if_match);
               if (!updated) return problem_response(updated.error());
               return resource_response(updated->version == 1 ? 201 : 200, *updated,
                                        prefers_minimal(request));
             });

  router.add("PATCH", base + "/{type}/{id}", Access::kBearerToken,
             [&resources](const Request& request, const RouteContext& context) {
               if (!request.header("content-type").starts_with("application/json-patch+json")) {
                 return problem_response(415, "not-supported",
                                         "send a JSON Patch as application/json-patch+json");
               }
               std::optional<std::int64_t> if_match;
               if (const auto etag = request.header("if-match"); !etag.empty()) {
                 if_match = parse_etag(etag);
                 if (!if_match)
                   return problem_response(400, "invalid", "If-Match must be W/\"<version>\"");
               }
               auto patched = resources.patch(*context.caller, context.param("type"),
                                              context.param("id"), request.body, if_match);
               if (!patched) return problem_response(patched.error());
               return resource_response(200, *patched, prefers_minimal(request));
             });

  router.add("DELETE", base + "/{type}/{id}", Access::kBearerToken,
             [&resources](const Request&, const RouteContext& context) {
               auto removed =
                   resources.remove(*context.caller, context.param("type"), context.param("id"));
               if (!removed) return problem_response(removed.error());
               Response response;
               response.status = 204;
               response.set_header("ETag", fmt::format("W/\"{}\"", removed->version));
               return response;
             });

  router.add("GET", base + "/{type}/{id}/_history", Access::kBearerToken,
             [&resources](const Request&, const RouteContext& context) {
               auto versions = resources.history(*context.caller, context.param("type"),
                                                 context.param("id"), 100);
               if (!versions) return problem_response(versions.error());
               return bundle_response(bundle("history", *versions));
             });

  router.add("GET", base + "/{type}/{id}/_history/{version}", Access::kBearerToken,
             [&resources](const Request&, const RouteContext& context) {
               const auto version = parse_version(context.param("version"));
               if (!version)
                 return problem_response(400, "invalid", "a version is a positive integer");
               auto found = resources.vread(*context.caller, context.param("type"),
                                            context.param("id"), *version);
               if (!found) return problem_response(found.error());
               return resource_response(200, *found, false);
             });
}

}  // namespace kavach::http
