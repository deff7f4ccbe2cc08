// Probes and metrics.
#include <boost/json.hpp>

#include "http/api.h"
#include "http/problem.h"

namespace kavach::http {

void add_system_routes(Router& router, const ApiServices& services) {
  // A liveness probe touches nothing, so it may be answered on the I/O thread (Work::kBrief).
  router.add(
      "GET", "/healthz", Access::kPublic,
      [](const Request&, const RouteContext&) {
        Response response;
        response.body = R"({"status":"ok"})";
        response.set_header("Content-Type", "application/json");
        return response;
      },
      Work::kBrief);

  router.add("GET", "/readyz", Access::kPublic, [&services](const Request&, const RouteContext&) {
    if (auto ready = services.readiness(); !ready) {
      return problem_response(503, "transient", ready.error().message);
    }
    Response response;
    response.body = R"({"status":"ready"})";
    response.set_header("Content-Type", "application/json");
    return response;
  });

  if (services.status_report) {
    router.add("GET", "/admin/status", Access::kBearerToken,
               [&services](const Request&, const RouteContext& context) {
                 if (!context.caller->scopes.has(kAdminScope)) {
                   return problem_response(403, "forbidden",
                                           "the node's status needs the kavach/admin scope");
                 }
                 return json_response(200, services.status_report());
               });
  }

  router.add("GET", "/metrics", Access::kBearerToken,
             [&services](const Request&, const RouteContext& context) {
               if (!context.caller->scopes.has(kMetricsScope)) {
                 return problem_response(403, "forbidden",
                                         "reading metrics needs the kavach/metrics scope");
               }
               Response response;
               response.body = services.metrics.render();
               response.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
               return response;
             });
}

}  // namespace kavach::http
