// The node's HTTP API: which routes exist, who may call them, and which domain service answers.
// Handlers are thin: parse the request, call one service, map the result (errors through
// problem.h). Public routes are only the probes (/healthz, /readyz), the token endpoint (which
// authenticates by client secret itself) and the FHIR CapabilityStatement.
#pragma once

#include <functional>

#include "auth/client_registry.h"
#include "auth/token_service.h"
#include "common/metrics.h"
#include "fhir/resource_service.h"
#include "http/router.h"

namespace kavach::http {

// The scope that lets a monitoring client read /metrics.
inline constexpr std::string_view kMetricsScope = "kavach/metrics";

struct ApiServices {
  fhir::ResourceService& resources;
  auth::ClientRegistry& clients;
  const auth::TokenService& tokens;
  Metrics& metrics;
  std::function<Status()> readiness;  // ok when the node can serve (store reachable, not draining)
};

void add_system_routes(Router& router, const ApiServices& services);
void add_oauth_routes(Router& router, const ApiServices& services);
void add_fhir_routes(Router& router, const ApiServices& services);

inline void add_all_routes(Router& router, const ApiServices& services) {
  add_system_routes(router, services);
  add_oauth_routes(router, services);
  add_fhir_routes(router, services);
}

}  // namespace kavach::http
