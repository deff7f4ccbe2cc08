// The anomaly guard for hospital IT (scope kavach/admin, docs/guard.md):
//   GET  /admin/alerts                         the newest alerts first (?_count, default 100)
//   GET  /admin/locks                          locked principals
// Each names its principal as hospital IT registered the client (principalName).
//   POST /admin/locks/{principal}/release      release one; audited with the releasing client
#include <charconv>
#include <string>

#include <boost/json.hpp>

#include "common/time_format.h"
#include "http/api.h"
#include "http/name_cache.h"
#include "http/problem.h"

namespace kavach::http {
namespace {

namespace json = boost::json;

constexpr std::size_t kAlertsDefault = 100;
constexpr std::size_t kAlertsMax = 1000;

Response forbidden_without_admin() {
  return problem_response(403, "forbidden", "the anomaly guard needs the kavach/admin scope");
}

// Principals by the name hospital IT registered the client under ("" for a principal that is no
// client of this node).
NameCache principal_names(auth::ClientRegistry& clients) {
  return NameCache([&clients](const std::string& principal) {
    auto client = clients.client(principal);
    return client ? client->name : std::string();
  });
}

}  // namespace

void add_guard_routes(Router& router, const ApiServices& services) {
  if (services.alerts == nullptr) return;
  guard::AlertBook& alerts = *services.alerts;

  router.add(
      "GET", "/admin/alerts", Access::kBearerToken,
      [&alerts, &clients = services.clients](const Request& request, const RouteContext& context) {
        if (!context.caller->scopes.has(kAdminScope)) return forbidden_without_admin();
        std::size_t count = kAlertsDefault;
        for (const auto& [name, text] : parse_query(request.query)) {
          if (name != "_count") continue;
          const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
          if (error != std::errc() || end != text.data() + text.size() || count == 0) {
            return problem_response(400, "invalid", "_count must be a positive number");
          }
          count = std::min(count, kAlertsMax);
        }
        auto listed = alerts.alerts(count);
        if (!listed) return problem_response(listed.error());
        json::array items;
        auto names = principal_names(clients);
        for (const auto& alert : *listed) {
          items.push_back(json::object{{"id", alert.id},
                                       {"rule", guard::rule_name(alert.rule)},
                                       {"principal", alert.principal},
                                       {"principalName", names(alert.principal)},
                                       {"subject", alert.subject},
                                       {"detail", alert.detail},
                                       {"at", format_instant_ms(alert.at_ms)},
                                       {"locked", alert.locked}});
        }
        return json_response(200, json::object{{"alerts", std::move(items)}});
      });

  router.add("GET", "/admin/locks", Access::kBearerToken,
             [&alerts, &clients = services.clients](const Request&, const RouteContext& context) {
               if (!context.caller->scopes.has(kAdminScope)) return forbidden_without_admin();
               auto locks = alerts.locks();
               if (!locks) return problem_response(locks.error());
               json::array items;
               auto names = principal_names(clients);
               for (const auto& lock : *locks) {
                 items.push_back(json::object{{"principal", lock.principal},
                                              {"principalName", names(lock.principal)},
                                              {"alert", lock.alert_id},
                                              {"locked_at", format_instant_ms(lock.locked_at_ms)}});
               }
               return json_response(200, json::object{{"locks", std::move(items)}});
             });

  router.add("POST", "/admin/locks/{principal}/release", Access::kBearerToken,
             [&alerts](const Request&, const RouteContext& context) {
               if (!context.caller->scopes.has(kAdminScope)) return forbidden_without_admin();
               const auto& principal = context.param("principal");
               if (auto released = alerts.release(principal, "client:" + context.caller->client_id);
                   !released) {
                 return problem_response(released.error());
               }
               return json_response(200, json::object{{"released", principal}});
             });
}

}  // namespace kavach::http
