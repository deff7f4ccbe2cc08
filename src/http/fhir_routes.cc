// FHIR R4 REST interactions at /fhir/R4: thin handlers over fhir::ResourceService.
#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/time_format.h"
#include "fhir/resource_types.h"
#include "fhir/search_parameters.h"
#include "fhir/search_query.h"
#include "http/api.h"
#include "http/bundle_text.h"
#include "http/problem.h"

namespace kavach::http {
namespace {

constexpr std::string_view kBase = "/fhir/R4";

bool is_json_content(std::string_view content_type) {
  return content_type.starts_with("application/fhir+json") ||
         content_type.starts_with("application/json");
}

// The absolute base URL of this FHIR service as the client reached it, for fullUrls and paging
// links (FHIR wants them absolute; clients such as fhir-kit-client follow them as they are). From
// the Host header, which only shapes the caller's own response; a malformed one falls back to
// the path alone.
std::string service_base(const Request& request) {
  const auto host = request.header("host");
  const bool well_formed =
      !host.empty() && host.size() <= 255 && std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
      });
  if (!well_formed) return std::string(kBase);
  return fmt::format("{}://{}{}", request.secure ? "https" : "http", host, kBase);
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
boost::json::object bundle_response_of(const fhir::BundleOutcome& outcome, std::string_view base) {
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
      item["fullUrl"] = fmt::format("{}/{}/{}", base, resource.type, resource.id);
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

Response bundle_response(std::string body) {
  Response response;
  response.body = std::move(body);
  response.set_header("Content-Type", std::string(kFhirJson));
  return response;
}

Response bundle_response(const boost::json::object& bundle_object) {
  return bundle_response(boost::json::serialize(bundle_object));
}

// A Bundle of `type` holding `resources` (a deleted version without its resource), with the
// members of `head` (links) before the entries.
Response bundle_response(std::string_view type, const std::vector<fhir::StoredResource>& resources,
                         std::string_view base, boost::json::object head = {}) {
  boost::json::object bundle_head{{"resourceType", "Bundle"}, {"type", type}};
  for (auto& [key, value] : head) bundle_head[key] = std::move(value);
  BundleText bundle(bundle_head);
  for (const auto& resource : resources) {
    bundle.add(fmt::format("{}/{}/{}", base, resource.type, resource.id),
               resource.deleted ? std::string_view() : std::string_view(resource.json));
  }
  return bundle_response(std::move(bundle).finish());
}

// Keeps only the elements a client asked for (_elements), plus those every resource must have,
// and marks the resource as a subset (FHIR R4 3.1.1.5.9).
std::string subset_of(const std::string& json, const std::vector<std::string>& elements) {
  auto resource = boost::json::parse(json).as_object();
  boost::json::object kept;
  for (const auto& [key, value] : resource) {
    if (key == "resourceType" || key == "id" || key == "meta" ||
        std::find(elements.begin(), elements.end(), key) != elements.end()) {
      kept[key] = value;
    }
  }
  auto& meta = kept["meta"];
  if (!meta.is_object()) meta = boost::json::object{};
  auto& tags = meta.as_object()["tag"];
  if (!tags.is_array()) tags = boost::json::array{};
  tags.as_array().push_back(
      boost::json::object{{"system", "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"},
                          {"code", "SUBSETTED"}});
  return boost::json::serialize(kept);
}

// Types whose records are bounded enough to read or create on a connection's I/O thread
// (Work::kBrief): fhir::has_small_records, and Patients and Practitioners, whose one attachment is
// a photo to know the person by and whose records are what most requests ask for. A Binary, a
// DocumentReference or a document Bundle may be megabytes and goes to a worker.
bool is_brief_record_type(std::string_view type) {
  return fhir::has_small_records(type) || type == "Patient" || type == "Practitioner";
}

// The largest body a create may have and still be brief work.
constexpr std::size_t kBriefCreateBytesMax = 64 * 1024;

// A route that only reads: its accesses are logged by queued commits, and the server sends the
// answer once they are durable (Response::durable_first) rather than a worker thread waiting for
// each read's fsync: about 30% more reads a second on the benchmark.
Handler answered_once_logged(Handler handler) {
  return [handler = std::move(handler)](const Request& request, const RouteContext& context) {
    audit::QueuedEntries queued;
    Response response = handler(request, context);
    response.durable_first = queued.take();
    return response;
  };
}

// A search's own parameters: _format is the HTTP layer's.
QueryParameters search_parameters_of(QueryParameters parameters) {
  std::erase_if(parameters, [](const auto& parameter) { return parameter.first == "_format"; });
  return parameters;
}

Response search_response(fhir::ResourceService& resources, const auth::AccessToken& caller,
                         const std::string& type, const QueryParameters& parameters,
                         std::string_view base) {
  const QueryParameters search_parameters = search_parameters_of(parameters);
  auto query = fhir::parse_search_query(type, search_parameters);
  if (!query) {
    if (!fhir::is_supported_type(type)) {
      return problem_response(404, "not-found", fmt::format("this server does not store {}", type));
    }
    return problem_response(query.error());
  }
  auto result = resources.search(caller, *query);
  if (!result) return problem_response(result.error());

  boost::json::object bundle_object{{"resourceType", "Bundle"}, {"type", "searchset"}};
  if (result->total) bundle_object["total"] = *result->total;

  // Links repeat the query as given, so the next page has the same criteria.
  std::string query_text;
  for (const auto& [name, value] : search_parameters) {
    if (name == "_cursor") continue;
    query_text += fmt::format("{}{}={}", query_text.empty() ? "" : "&", percent_encode(name),
                              percent_encode(value));
  }
  const auto self = fmt::format("{}/{}{}{}", base, type, query_text.empty() ? "" : "?", query_text);
  boost::json::array links{boost::json::object{{"relation", "self"}, {"url", self}}};
  if (!result->next_cursor.empty()) {
    links.push_back(boost::json::object{
        {"relation", "next"},
        {"url", fmt::format("{}{}_cursor={}", self, query_text.empty() ? "?" : "&",
                            percent_encode(result->next_cursor))}});
  }
  bundle_object["link"] = std::move(links);
  BundleText bundle(bundle_object);
  const auto full_url = [base](const fhir::StoredResource& resource) {
    return fmt::format("{}/{}/{}", base, resource.type, resource.id);
  };
  for (const auto& match : result->matches) {
    if (query->elements.empty()) {
      bundle.add(full_url(match), match.json, "match");
    } else {
      bundle.add(full_url(match), subset_of(match.json, query->elements), "match");
    }
  }
  for (const auto& included : result->included) {
    bundle.add(full_url(included), included.json, "include");
  }
  return bundle_response(std::move(bundle).finish());
}

// A bulk export kick-off (Bulk Data Access 2.0): 202 with the status URL in Content-Location.
Response export_kick_off(fhir::BulkExports& exports, const Request& request,
                         const auth::AccessToken& caller, fhir::ExportRequest export_request) {
  if (request.header("prefer").find("respond-async") == std::string_view::npos) {
    return problem_response(400, "invalid", "a bulk export needs the header Prefer: respond-async");
  }
  for (const auto& [name, value] : parse_query(request.query)) {
    if (name == "_outputFormat") {
      if (value != "application/fhir+ndjson" && value != "application/ndjson" &&
          value != "ndjson") {
        return problem_response(400, "not-supported", "_outputFormat: only NDJSON is offered");
      }
    } else if (name == "_since") {
      const auto since = parse_instant_ms(value);
      if (!since) return problem_response(400, "invalid", "_since is an instant");
      export_request.since_ms = *since;
    } else if (name == "_type") {
      for (std::size_t start = 0; start <= value.size();) {
        const auto comma = value.find(',', start);
        export_request.types.push_back(value.substr(start, comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else {
      return problem_response(400, "not-supported",
                              fmt::format("{} is not supported for $export", name));
    }
  }
  export_request.request_url =
      fmt::format("{}{}{}{}", service_base(request), request.path.substr(kBase.size()),
                  request.query.empty() ? "" : "?", request.query);
  auto job = exports.kick_off(caller, std::move(export_request));
  if (!job) return problem_response(job.error());
  Response response;
  response.status = 202;
  response.set_header("Content-Location",
                      fmt::format("{}/$export-status/{}", service_base(request), *job));
  return response;
}

Response export_status(fhir::BulkExports& exports, const Request& request,
                       const auth::AccessToken& caller, const std::string& job) {
  auto status = exports.status(caller, job);
  if (!status) return problem_response(status.error());
  using State = fhir::ExportStatus::State;
  if (status->state == State::kFailed) return problem_response(*status->error);
  Response response;
  if (status->state == State::kRunning) {
    response.status = 202;
    response.set_header("X-Progress", status->progress);
    response.set_header("Retry-After", "2");
    return response;
  }
  boost::json::array output;
  for (std::size_t i = 0; i < status->files.size(); ++i) {
    output.push_back(boost::json::object{
        {"type", status->files[i].type},
        {"url", fmt::format("{}/$export-output/{}/{}", service_base(request), job, i)},
        {"count", status->files[i].count}});
  }
  const boost::json::object manifest{
      {"transactionTime", format_instant_ms(status->transaction_time_ms)},
      {"request", status->request_url},
      {"requiresAccessToken", true},
      {"output", std::move(output)},
      {"error", boost::json::array{}}};
  response.body = boost::json::serialize(manifest);
  response.set_header("Content-Type", "application/json");
  response.set_header(
      "Expires",
      format_instant_ms(
          status->transaction_time_ms +
          std::chrono::duration_cast<std::chrono::milliseconds>(fhir::kExportRetention).count()));
  return response;
}

void add_export_routes(Router& router, fhir::BulkExports& exports) {
  const std::string base(kBase);
  using Level = fhir::ExportRequest::Level;
  router.add(
      "GET", base + "/$export", Access::kBearerToken,
      [&exports](const Request& request, const RouteContext& context) {
        return export_kick_off(exports, request, *context.caller, {Level::kSystem, "", {}, 0, ""});
      });
  router.add(
      "GET", base + "/Patient/$export", Access::kBearerToken,
      [&exports](const Request& request, const RouteContext& context) {
        return export_kick_off(exports, request, *context.caller, {Level::kPatient, "", {}, 0, ""});
      });
  router.add("GET", base + "/Group/{id}/$export", Access::kBearerToken,
             [&exports](const Request& request, const RouteContext& context) {
               return export_kick_off(exports, request, *context.caller,
                                      {Level::kGroup, context.param("id"), {}, 0, ""});
             });
  router.add("GET", base + "/$export-status/{job}", Access::kBearerToken,
             [&exports](const Request& request, const RouteContext& context) {
               return export_status(exports, request, *context.caller, context.param("job"));
             });
  router.add("DELETE", base + "/$export-status/{job}", Access::kBearerToken,
             [&exports](const Request&, const RouteContext& context) {
               const auto removed = exports.remove(*context.caller, context.param("job"));
               if (!removed) return problem_response(removed.error());
               Response response;
               response.status = 202;
               return response;
             });
  router.add("GET", base + "/$export-output/{job}/{file}", Access::kBearerToken,
             [&exports](const Request&, const RouteContext& context) {
               const auto index = parse_version(context.param("file"));
               if (!index && context.param("file") != "0") {
                 return problem_response(404, "not-found", "no such export file");
               }
               auto lines = exports.output(*context.caller, context.param("job"),
                                           static_cast<std::size_t>(index.value_or(0)));
               if (!lines) return problem_response(lines.error());
               Response response;
               response.body = std::move(*lines);
               response.set_header("Content-Type", "application/fhir+ndjson");
               return response;
             });
}

Response capability_statement() {
  boost::json::array resources;
  for (const std::string_view type : fhir::supported_types()) {
    boost::json::array interactions;
    for (const char* code : {"read", "vread", "update", "patch", "delete", "history-instance",
                             "history-type", "create", "search-type"}) {
      interactions.push_back(boost::json::object{{"code", code}});
    }
    boost::json::array search_parameters;
    const auto add_parameter = [&search_parameters](const fhir::ParameterDefinition& parameter) {
      static constexpr std::string_view kTypeNames[] = {"token", "token", "string", "reference",
                                                        "date"};
      search_parameters.push_back(
          boost::json::object{{"name", parameter.name},
                              {"type", kTypeNames[static_cast<std::size_t>(parameter.kind)]}});
    };
    add_parameter(fhir::kIdParameter);
    add_parameter(fhir::kLastUpdatedParameter);
    boost::json::array includes;
    for (const auto& parameter : fhir::parameters_of(type)) {
      add_parameter(parameter);
      if (parameter.kind == fhir::ParameterKind::kReference) {
        includes.push_back(boost::json::string(fmt::format("{}:{}", type, parameter.name)));
      }
    }
    boost::json::array revincludes;
    for (const std::string_view source : fhir::supported_types()) {
      for (const auto& parameter : fhir::parameters_of(source)) {
        if (parameter.kind == fhir::ParameterKind::kReference && parameter.target == type) {
          revincludes.push_back(boost::json::string(fmt::format("{}:{}", source, parameter.name)));
        }
      }
    }
    resources.push_back(boost::json::object{{"type", type},
                                            {"versioning", "versioned-update"},
                                            {"readHistory", true},
                                            {"updateCreate", true},
                                            {"conditionalCreate", true},
                                            {"conditionalUpdate", true},
                                            {"conditionalDelete", "single"},
                                            {"interaction", std::move(interactions)},
                                            {"searchInclude", std::move(includes)},
                                            {"searchRevInclude", std::move(revincludes)},
                                            {"searchParam", std::move(search_parameters)}});
    if (type == "Patient") {
      resources.back().as_object()["operation"] = boost::json::array{
          boost::json::object{
              {"name", "everything"},
              {"definition", "http://hl7.org/fhir/OperationDefinition/Patient-everything"}},
          boost::json::object{
              {"name", "export"},
              {"definition",
               "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"}}};
    }
    if (type == "Group") {
      resources.back().as_object()["operation"] = boost::json::array{boost::json::object{
          {"name", "export"},
          {"definition", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"}}};
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
                                              boost::json::object{{"code", "batch"}}}},
           {"operation",
            boost::json::array{boost::json::object{
                {"name", "export"},
                {"definition", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}}}}}}},
      {"instantiates",
       boost::json::array{"http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"}}};
  Response response;
  response.body = boost::json::serialize(statement);
  response.set_header("Content-Type", std::string(kFhirJson));
  return response;
}

}  // namespace

void add_fhir_routes(Router& router, const ApiServices& services) {
  auto& resources = services.resources;
  const std::string base(kBase);
  // Before the generic /{type} and /{type}/{id} routes, which would take "$export" for a type or
  // id.
  if (services.exports != nullptr) add_export_routes(router, *services.exports);

  router.add("POST", base, Access::kBearerToken,
             [&resources](const Request& request, const RouteContext& context) {
               if (auto refused = refuse_body(request)) return *refused;
               auto outcome = resources.process_bundle(*context.caller, request.body);
               if (!outcome) return problem_response(outcome.error());
               return bundle_response(bundle_response_of(*outcome, service_base(request)));
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
          std::string next = fmt::format("{}/AuditEvent?", service_base(request));
          if (!query.patient.empty()) {
            next += fmt::format("patient={}&", percent_encode(query.patient));
          }
          next += fmt::format("_count={}&_cursor={}", query.count, page->next_after);
          page->bundle["link"] =
              boost::json::array{boost::json::object{{"relation", "next"}, {"url", next}}};
        }
        return bundle_response(std::move(page->bundle));
      });

  // A create of a small record (no If-None-Exist search) is brief too: parsing, validating and
  // sealing a body of at most kBriefCreateBytesMax, its commit queued. Only the first record of a
  // patient whose data key another request may be making is committed on the spot
  // (ResourceService::create_queued), a rare wait for one fsync.
  const BriefWhen small_create = [](const Request& request, const RouteContext& context) {
    return request.body.size() <= kBriefCreateBytesMax && request.header("if-none-exist").empty() &&
           is_brief_record_type(context.param("type"));
  };
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
        // The commit is queued and the answer held until it is durable, so the thread is free
        // for the next request meanwhile instead of sleeping through the fsync. So is a refusal's
        // audit entry.
        audit::QueuedEntries queued;
        auto created =
            resources.create_queued(*context.caller, context.param("type"), request.body);
        Response response =
            created ? resource_response(201, created->resource, prefers_minimal(request))
                    : problem_response(created.error());
        response.durable_first = queued.take();
        if (created) response.durable_first.push_back(std::move(created->durable));
        return response;
      },
      Work::kBrief, small_create);

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

  // A page of one patient's records through the reference index is brief (bounded by its page:
  // fhir::is_one_page_search); any other search may scan, and goes to a worker.
  const BriefWhen one_page_search = [](const Request& request, const RouteContext& context) {
    const auto query = fhir::parse_search_query(context.param("type"),
                                                search_parameters_of(parse_query(request.query)));
    return query.has_value() && fhir::is_one_page_search(*query);
  };
  router.add(
      "GET", base + "/{type}", Access::kBearerToken,
      answered_once_logged([&resources](const Request& request, const RouteContext& context) {
        return search_response(resources, *context.caller, context.param("type"),
                               parse_query(request.query), service_base(request));
      }),
      Work::kBrief, one_page_search);
  // Search by POST, with the parameters as a form (FHIR R4 3.1.0.11.1).
  router.add(
      "POST", base + "/{type}/_search", Access::kBearerToken,
      answered_once_logged([&resources](const Request& request, const RouteContext& context) {
        if (!request.header("content-type").starts_with("application/x-www-form-urlencoded")) {
          return problem_response(415, "not-supported",
                                  "send the parameters as application/x-www-form-urlencoded");
        }
        auto parameters = parse_query(request.query);
        for (auto& parameter : parse_query(request.body)) {
          parameters.push_back(std::move(parameter));
        }
        return search_response(resources, *context.caller, context.param("type"), parameters,
                               service_base(request));
      }));

  // Before /{type}/{id}: "_history" is not an id.
  router.add(
      "GET", base + "/{type}/_history", Access::kBearerToken,
      answered_once_logged([&resources](const Request& request, const RouteContext& context) {
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
        boost::json::object links;
        if (page->next_before != 0) {
          links["link"] = boost::json::array{boost::json::object{
              {"relation", "next"},
              {"url", fmt::format("{}/{}/_history?_count={}&_cursor={}", service_base(request),
                                  type, count, page->next_before)}}};
        }
        return bundle_response("history", page->versions, service_base(request), std::move(links));
      }));

  router.add(
      "GET", base + "/Patient/{id}/$everything", Access::kBearerToken,
      answered_once_logged([&resources](const Request& request, const RouteContext& context) {
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
        boost::json::object links;
        if (!page->next_after_id.empty()) {
          links["link"] = boost::json::array{boost::json::object{
              {"relation", "next"},
              {"url",
               fmt::format("{}/Patient/{}/$everything?_count={}&_cursor={}", service_base(request),
                           id, count, percent_encode(page->next_after_id))}}};
        }
        return bundle_response("searchset", page->resources, service_base(request),
                               std::move(links));
      }));

  // A read or vread of one small record is brief: bounded work, audit entries queued
  // (Work::kBrief).
  const BriefWhen small_record = [](const Request&, const RouteContext& context) {
    return is_brief_record_type(context.param("type"));
  };
  router.add("GET", base + "/{type}/{id}", Access::kBearerToken,
             answered_once_logged([&resources](const Request&, const RouteContext& context) {
               auto found =
                   resources.read(*context.caller, context.param("type"), context.param("id"));
               if (!found) return problem_response(found.error());
               return resource_response(200, *found, false);
             }),
             Work::kBrief, small_record);

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

  router.add(
      "GET", base + "/{type}/{id}/_history", Access::kBearerToken,
      answered_once_logged([&resources](const Request& request, const RouteContext& context) {
        auto versions =
            resources.history(*context.caller, context.param("type"), context.param("id"), 100);
        if (!versions) return problem_response(versions.error());
        return bundle_response("history", *versions, service_base(request));
      }));

  router.add("GET", base + "/{type}/{id}/_history/{version}", Access::kBearerToken,
             answered_once_logged([&resources](const Request&, const RouteContext& context) {
               const auto version = parse_version(context.param("version"));
               if (!version)
                 return problem_response(400, "invalid", "a version is a positive integer");
               auto found = resources.vread(*context.caller, context.param("type"),
                                            context.param("id"), *version);
               if (!found) return problem_response(found.error());
               return resource_response(200, *found, false);
             }),
             Work::kBrief, small_record);
}

}  // namespace kavach::http
