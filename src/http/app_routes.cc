// The web app (docs/web.md): its built files under /app/, every answer with a strict
// Content-Security-Policy (no inline script, nothing from another origin), and the browser
// session API under /app/api/session, which turns a one-time code (patients) or a client's
// credentials (clinicians, hospital IT) into an HttpOnly session cookie (http/web_session.h).
// Every other call the app makes goes to the node's ordinary API, authenticated by that cookie.
#include <algorithm>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/limits.h"
#include "common/time_format.h"
#include "consent/abha.h"
#include "consent/json_fields.h"
#include "http/api.h"
#include "http/problem.h"

namespace kavach::http {
namespace {

namespace json = boost::json;

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";
// Patient session tokens look like this (consent/patient_accounts.h); staff hold access tokens.
constexpr std::string_view kPatientTokenPrefix = "kps1.";

void add_page_headers(Response& response) {
  response.set_header("Content-Security-Policy", std::string(kContentSecurityPolicy));
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
  response.set_header("X-Frame-Options", "DENY");
  response.set_header("Cross-Origin-Opener-Policy", "same-origin");
  response.set_header("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
}

bool accepts_gzip(const Request& request) {
  const auto accepted = request.header("accept-encoding");
  return accepted.find("gzip") != std::string_view::npos;
}

Response asset_response(const Request& request, const WebAsset& asset) {
  Response response;
  const bool gzip = !asset.gzip_body.empty() && accepts_gzip(request);
  response.body = gzip ? asset.gzip_body : asset.body;
  response.set_header("Content-Type", asset.content_type);
  if (gzip) response.set_header("Content-Encoding", "gzip");
  response.set_header("Vary", "Accept-Encoding");
  // Hashed asset names change with their content; the page itself is checked every time.
  response.set_header("Cache-Control",
                      asset.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  add_page_headers(response);
  return response;
}

Response session_answer(int status, json::object body) {
  auto response = json_response(status, body);
  add_page_headers(response);
  return response;
}

// The answer with the browser's session cookie removed.
Response clearing_session(Response response) {
  response.set_header("Set-Cookie", expired_session_cookie());
  response.set_header("Cache-Control", "no-store");
  add_page_headers(response);
  return response;
}

Response not_signed_in(std::string_view message) {
  return clearing_session(problem_response(401, "login", message));
}

std::chrono::seconds seconds_until(std::int64_t at_ms) {
  const auto now_ms = unix_ms(std::chrono::system_clock::now());
  return std::chrono::seconds(std::max<std::int64_t>(0, (at_ms - now_ms) / 1000));
}

json::object patient_session_json(const consent::PatientSession& session,
                                  const WebSessions& sessions, std::string_view token) {
  return {{"role", "patient"},
          {"abhaNumber", consent::format_abha_number(session.abha_number)},
          {"expiresAt", format_instant_ms(session.expires_at_ms)},
          {"csrfToken", sessions.csrf_token(token)}};
}

// A staff member's roles in the app, from their client's scopes.
json::array staff_roles(const auth::ScopeSet& scopes) {
  json::array roles;
  if (!scopes.opaque_value("professional:").empty()) roles.emplace_back("clinician");
  if (scopes.has(kAdminScope)) roles.emplace_back("it");
  return roles;
}

json::object staff_session_json(const auth::Client& client, const auth::AccessToken& token,
                                const WebSessions& sessions, std::string_view token_text) {
  return {{"role", "staff"},
          {"name", client.name},
          {"clientId", client.client_id},
          {"roles", staff_roles(token.scopes)},
          {"registration", token.scopes.opaque_value("professional:")},
          {"expiresAt", format_instant_ms(token.expires_at_ms)},
          {"csrfToken", sessions.csrf_token(token_text)}};
}

// A staff session on a fresh access token for `client`, set as the cookie.
Response new_staff_session(int status, const auth::Client& client, const auth::ScopeSet& scopes,
                           const ApiServices& services, const WebSessions& sessions) {
  const auto issued = services.tokens.issue(client.client_id, scopes);
  auto token = services.tokens.verify(issued.token);
  if (!token) return problem_response(token.error());
  auto response =
      session_answer(status, staff_session_json(client, *token, sessions, issued.token));
  response.set_header("Set-Cookie", session_cookie(issued.token, issued.lifetime));
  return response;
}

// A fresh access token for a staff session past half its life: the app asks every minute while
// it is open, so a session lasts as long as the page does and ends a few minutes after it closes.
bool needs_renewal(const auth::AccessToken& token) {
  return seconds_until(token.expires_at_ms) < limits::kAccessTokenLifetime / 2;
}

// A sign-in form's two fields, from a page of this node (a sign-in that another site starts
// would plant its own session here).
Result<std::pair<std::string, std::string>> sign_in_form(const Request& request,
                                                         std::string_view first,
                                                         std::string_view second) {
  RETURN_IF_ERROR(WebSessions::check_origin(request));
  ASSIGN_OR_RETURN(const auto body, body_object(request));
  ASSIGN_OR_RETURN(auto first_value, consent::required_string(body, first, ""));
  ASSIGN_OR_RETURN(auto second_value, consent::required_string(body, second, ""));
  return std::pair{std::move(first_value), std::move(second_value)};
}

void add_session_routes(Router& router, const ApiServices& services) {
  const WebSessions& sessions = *services.web_sessions;
  if (services.consent != nullptr) {
    auto& accounts = services.consent->accounts;
    router.add("POST", "/app/api/session/patient", Access::kPublic,
               [&accounts, &sessions](const Request& request, const RouteContext&) {
                 auto form = sign_in_form(request, "ticket", "code");
                 if (!form) return problem_response(form.error());
                 const auto& [ticket, code] = *form;
                 auto created = accounts.confirm_sign_in(ticket, code, request.peer);
                 if (!created) return problem_response(created.error());
                 auto response = session_answer(
                     201, patient_session_json(created->session, sessions, created->token));
                 response.set_header(
                     "Set-Cookie",
                     session_cookie(created->token, seconds_until(created->session.expires_at_ms)));
                 return response;
               });
  }
  router.add(
      "POST", "/app/api/session/staff", Access::kPublic,
      [&services, &sessions](const Request& request, const RouteContext&) {
        auto form = sign_in_form(request, "clientId", "clientSecret");
        if (!form) return problem_response(form.error());
        const auto& [client_id, secret] = *form;
        auto client = services.clients.authenticate(client_id, secret, request.peer);
        if (!client) return problem_response(client.error());
        if (staff_roles(client->scopes).empty()) {
          return problem_response(Error{ErrorCode::kPermissionDenied,
                                        "this client is neither a clinician's nor hospital IT's"});
        }
        return new_staff_session(201, *client, client->scopes, services, sessions);
      });
  router.add("GET", "/app/api/session", Access::kPublic,
             [&services, &sessions](const Request& request, const RouteContext&) {
               const std::string token(cookie_value(request, kSessionCookie));
               if (token.empty()) return not_signed_in("not signed in");
               if (token.starts_with(kPatientTokenPrefix)) {
                 if (services.consent == nullptr) return not_signed_in("not signed in");
                 auto session = services.consent->accounts.authenticate(token);
                 if (!session) return not_signed_in("the session has ended; sign in again");
                 return session_answer(200, patient_session_json(*session, sessions, token));
               }
               auto verified = services.tokens.verify(token);
               if (!verified) return not_signed_in("the session has ended; sign in again");
               auto client = services.clients.client(verified->client_id);
               if (!client) return not_signed_in("the session has ended; sign in again");
               if (!needs_renewal(*verified)) {
                 return session_answer(200,
                                       staff_session_json(*client, *verified, sessions, token));
               }
               return new_staff_session(200, *client, verified->scopes, services, sessions);
             });
  // Signing out ends a patient's session at the CM; a staff token simply lapses within minutes.
  // Clear-Site-Data makes the browser drop anything the app may have left behind.
  router.add("DELETE", "/app/api/session", Access::kPublic,
             [&services, &sessions](const Request& request, const RouteContext&) {
               const std::string token(cookie_value(request, kSessionCookie));
               if (!token.empty()) {
                 if (auto allowed = sessions.check_request(request, token); !allowed) {
                   return problem_response(allowed.error());
                 }
                 if (token.starts_with(kPatientTokenPrefix) && services.consent != nullptr) {
                   auto& accounts = services.consent->accounts;
                   if (auto session = accounts.authenticate(token)) {
                     if (auto ended = accounts.end_session(*session, session->id); !ended) {
                       return problem_response(ended.error());
                     }
                   }
                 }
               }
               Response ended;
               ended.status = 204;
               auto response = clearing_session(std::move(ended));
               response.set_header("Clear-Site-Data", "\"cache\", \"cookies\", \"storage\"");
               return response;
             });
}

}  // namespace

void add_web_asset_routes(Router& router, const WebAssets& assets) {
  const auto index = [&assets](const Request& request, const RouteContext&) {
    const auto* page = assets.find("index.html");
    return page == nullptr ? problem_response(404, "not-found", "the web app is not built")
                           : asset_response(request, *page);
  };
  router.add("GET", "/app", Access::kPublic, index);
  router.add("GET", "/app/{rest...}", Access::kPublic,
             [&assets, index](const Request& request, const RouteContext& context) {
               const auto& path = context.param("rest");
               if (const auto* asset = assets.find(path)) return asset_response(request, *asset);
               // The app's own screens (/app/consents, ...) are the page; a missing file is not.
               const auto last = path.substr(path.rfind('/') + 1);
               if (path.starts_with("api/") || last.find('.') != std::string::npos) {
                 return problem_response(404, "not-found", "no such file");
               }
               return index(request, context);
             });
}

void add_app_routes(Router& router, const ApiServices& services) {
  if (services.web_sessions != nullptr) add_session_routes(router, services);
  if (services.web_assets != nullptr) add_web_asset_routes(router, *services.web_assets);
}

}  // namespace kavach::http
