// OAuth 2.0 client-credentials grant (RFC 6749 section 4.4) with client_secret_basic.
#include <strings.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "crypto/encoding.h"
#include "http/api.h"

namespace kavach::http {
namespace {

// RFC 6749 section 5.2 errors are JSON objects, not OperationOutcomes.
Response oauth_error(int status, std::string_view code, std::string_view description) {
  Response response;
  response.status = status;
  response.body = boost::json::serialize(
      boost::json::object{{"error", code}, {"error_description", description}});
  response.set_header("Content-Type", "application/json");
  response.set_header("Cache-Control", "no-store");
  if (status == 401) response.set_header("WWW-Authenticate", "Basic realm=\"kavach\"");
  return response;
}

struct BasicCredentials {
  std::string client_id;
  std::string client_secret;
};

std::optional<BasicCredentials> parse_basic(std::string_view header) {
  constexpr std::string_view kScheme = "Basic ";
  if (header.size() <= kScheme.size() ||
      ::strncasecmp(header.data(), kScheme.data(), kScheme.size()) != 0) {
    return std::nullopt;
  }
  const auto decoded = crypto::from_base64(header.substr(kScheme.size()));
  if (!decoded) return std::nullopt;
  const std::string_view text = crypto::as_text(*decoded);
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  // RFC 6749 section 2.3.1: both parts are form-urlencoded before base64.
  return BasicCredentials{percent_decode(text.substr(0, colon)),
                          percent_decode(text.substr(colon + 1))};
}

// The requested scopes must each be one the client was granted; none requested means all granted.
Result<auth::ScopeSet> narrow_scopes(const auth::ScopeSet& granted, std::string_view requested) {
  if (requested.empty()) return granted;
  ASSIGN_OR_RETURN(auto wanted, auth::ScopeSet::parse(requested));
  const std::string granted_text = " " + granted.text() + " ";
  std::string_view rest = wanted.text();
  while (!rest.empty()) {
    const auto space = rest.find(' ');
    const auto scope = rest.substr(0, space);
    if (granted_text.find(fmt::format(" {} ", scope)) == std::string::npos) {
      return make_error(ErrorCode::kPermissionDenied,
                        fmt::format("scope {} was not granted", scope));
    }
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  return wanted;
}

}  // namespace

void add_oauth_routes(Router& router, const ApiServices& services) {
  router.add(
      "POST", "/oauth2/token", Access::kPublic,
      [&services](const Request& request, const RouteContext&) {
        if (!request.header("content-type").starts_with("application/x-www-form-urlencoded")) {
          return oauth_error(400, "invalid_request",
                             "send the form as application/x-www-form-urlencoded");
        }
        const auto credentials = parse_basic(request.header("authorization"));
        if (!credentials) {
          return oauth_error(401, "invalid_client",
                             "authenticate with HTTP Basic (client_secret_basic)");
        }
        std::string grant_type;
        std::string scope;
        for (const auto& [name, value] : parse_query(request.body)) {
          if (name == "grant_type") grant_type = value;
          if (name == "scope") scope = value;
        }
        if (grant_type != "client_credentials") {
          return oauth_error(400, "unsupported_grant_type",
                             "only grant_type=client_credentials is supported");
        }
        auto client = services.clients.authenticate(credentials->client_id,
                                                    credentials->client_secret, request.peer);
        if (!client) {
          if (client.error().code == ErrorCode::kUnauthenticated) {
            return oauth_error(401, "invalid_client", client.error().message);
          }
          if (client.error().code == ErrorCode::kResourceExhausted) {
            auto response = oauth_error(429, "temporarily_unavailable", client.error().message);
            response.set_header("Retry-After", "2");
            return response;
          }
          return oauth_error(503, "temporarily_unavailable", "try again later");
        }
        auto scopes = narrow_scopes(client->scopes, scope);
        if (!scopes) return oauth_error(400, "invalid_scope", scopes.error().message);
        const auto issued = services.tokens.issue(client->client_id, *scopes);
        Response response;
        response.body =
            boost::json::serialize(boost::json::object{{"access_token", issued.token},
                                                       {"token_type", "Bearer"},
                                                       {"expires_in", issued.lifetime.count()},
                                                       {"scope", scopes->text()}});
        response.set_header("Content-Type", "application/json");
        response.set_header("Cache-Control", "no-store");
        return response;
      });

  // ABDM's gateway session: client credentials in a JSON body, a JWT that every node of the
  // network verifies with the CM's published keys. No refresh tokens: a client asks again.
  if (services.sessions == nullptr) return;
  router.add(
      "POST", "/v0.5/sessions", Access::kPublic,
      [&services](const Request& request, const RouteContext&) {
        boost::system::error_code error;
        const auto body = boost::json::parse(request.body, error);
        const auto* fields = body.if_object();
        const auto text = [fields](std::string_view name) -> std::string {
          const auto* value = fields ? fields->if_contains(name) : nullptr;
          return value && value->is_string() ? std::string(value->get_string()) : std::string();
        };
        if (error || fields == nullptr || text("clientId").empty()) {
          return oauth_error(400, "invalid_request", "send {clientId, clientSecret, grantType}");
        }
        if (text("grantType") != "client_credentials") {
          return oauth_error(400, "unsupported_grant_type", "grantType is client_credentials");
        }
        auto client =
            services.clients.authenticate(text("clientId"), text("clientSecret"), request.peer);
        if (!client) {
          if (client.error().code == ErrorCode::kResourceExhausted) {
            return oauth_error(429, "temporarily_unavailable", client.error().message);
          }
          return oauth_error(401, "invalid_client", client.error().message);
        }
        const auto issued = services.sessions->issue(client->client_id, client->scopes);
        Response response;
        response.body =
            boost::json::serialize(boost::json::object{{"accessToken", issued.token},
                                                       {"expiresIn", issued.lifetime.count()},
                                                       {"refreshExpiresIn", 0},
                                                       {"refreshToken", nullptr},
                                                       {"tokenType", "bearer"}});
        response.set_header("Content-Type", "application/json");
        response.set_header("Cache-Control", "no-store");
        return response;
      });
}

}  // namespace kavach::http
