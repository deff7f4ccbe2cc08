#include "http/router.h"

#include <strings.h>

#include <exception>

#include <fmt/format.h>

#include "common/log.h"
#include "exchange/session_tokens.h"
#include "http/problem.h"

namespace kavach::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  return segments;
}

}  // namespace

const std::string& RouteContext::param(std::string_view name) const {
  static const std::string kEmpty;
  const auto found = path.find(name);
  return found == path.end() ? kEmpty : found->second;
}

void Router::add(std::string method, std::string pattern, Access access, Handler handler, Work work,
                 BriefWhen brief_when) {
  Route route{std::move(method),    pattern, {}, access, std::move(handler), work,
              std::move(brief_when)};
  for (const auto segment : split_path(pattern)) route.segments.emplace_back(segment);
  routes_.push_back(std::move(route));
}

bool Router::matches(const Route& route, const std::vector<std::string_view>& segments,
                     RouteContext& context) {
  // A last segment "{name...}" takes the rest of the path (one segment or more), undecoded.
  const bool takes_rest = !route.segments.empty() && route.segments.back().ends_with("...}");
  if (takes_rest ? segments.size() < route.segments.size()
                 : route.segments.size() != segments.size()) {
    return false;
  }
  for (std::size_t i = 0; i < route.segments.size(); ++i) {
    const auto& expected = route.segments[i];
    if (takes_rest && i + 1 == route.segments.size()) {
      std::string rest(segments[i]);
      for (std::size_t j = i + 1; j < segments.size(); ++j) rest.append("/").append(segments[j]);
      context.path[expected.substr(1, expected.size() - 5)] = std::move(rest);
    } else if (expected.size() > 2 && expected.front() == '{' && expected.back() == '}') {
      context.path[expected.substr(1, expected.size() - 2)] = percent_decode(segments[i]);
    } else if (expected != segments[i]) {
      return false;
    }
  }
  return true;
}

Router::Match Router::match(const Request& request) const {
  Match found;
  found.consented_ = !request.header("x-kavach-consent").empty();
  const auto segments = split_path(request.path);
  for (const auto& route : routes_) {
    RouteContext context;
    if (!matches(route, segments, context)) continue;
    found.path_matched_ = true;
    if (route.method != request.method) continue;
    found.route_ = &route;
    found.brief_ =
        route.work == Work::kBrief && (!route.brief_when || route.brief_when(request, context));
    found.context_ = std::move(context);
    break;
  }
  return found;
}

Response Router::handle(const Request& request, Match match) const {
  // ABDM addresses a message to its receiver (X-HIP-ID, X-HIU-ID, X-CM-ID): one meant for
  // another facility or consent manager is refused, never handled as this node's.
  for (const auto& [header, own] :
       {std::pair{"x-hip-id", &facility_id_}, std::pair{"x-hiu-id", &facility_id_},
        std::pair{"x-cm-id", &cm_id_}}) {
    const auto named = request.header(header);
    if (!named.empty() && !own->empty() && named != *own) {
      return problem_response(404, "not-found", fmt::format("this node does not serve {}", named));
    }
  }
  if (match.route_ != nullptr) {
    Response response = dispatch(*match.route_, request, match.context_);
    response.route = match.route_->pattern;
    return response;
  }
  if (match.path_matched_) {
    return problem_response(405, "not-supported",
                            fmt::format("{} is not allowed on this path", request.method));
  }
  return problem_response(404, "not-found", "no such endpoint");
}

Response Router::dispatch(const Route& route, const Request& request, RouteContext& context) const {
  if (node_certificates_required_ && !request.client_certificate &&
      (route.access == Access::kPeer || route.access == Access::kFromNode)) {
    return problem_response(403, "forbidden",
                            "calls between nodes need a client certificate (mutual TLS)");
  }
  std::optional<auth::AccessToken> caller;
  std::optional<consent::PatientSession> patient;
  std::string_view bearer;
  // A facility's node signs its messages instead of presenting a token.
  const bool signed_by_peer = route.access == Access::kPeer &&
                              !request.header(kPeerSignatureHeader).empty() &&
                              request.header("authorization").empty();
  if (signed_by_peer) {
    if (!peer_authenticator_) {
      return problem_response(401, "login", "this node does not accept signed facility messages");
    }
    auto verified = peer_authenticator_(request);
    if (!verified) return problem_response(verified.error());
    caller = std::move(*verified);
    context.caller = &*caller;
  } else if (route.access != Access::kPublic && route.access != Access::kFromNode) {
    const auto authorization = request.header("authorization");
    constexpr std::string_view kScheme = "Bearer ";
    // A browser of the web app: its session cookie stands for the header. Facilities' messages
    // (kPeer) never come from a browser.
    const auto cookie =
        web_sessions_ != nullptr && authorization.empty() && route.access != Access::kPeer
            ? cookie_value(request, kSessionCookie)
            : std::string_view();
    if (!cookie.empty()) {
      if (auto allowed = web_sessions_->check_request(request, cookie); !allowed) {
        return problem_response(allowed.error());
      }
      bearer = cookie;
    } else if (authorization.size() <= kScheme.size() ||
               ::strncasecmp(authorization.data(), kScheme.data(), kScheme.size()) != 0) {
      return problem_response(401, "login",
                              route.access == Access::kPatientSession
                                  ? "sign in first: this endpoint needs a patient session"
                                  : "this endpoint needs a bearer access token");
    } else {
      bearer = authorization.substr(kScheme.size());
    }
  }
  if (route.access == Access::kPatientSession) {
    if (!patient_authenticator_) {
      return problem_response(401, "login", "this node has no patient accounts");
    }
    auto session = patient_authenticator_(bearer);
    if (!session) return problem_response(session.error());
    patient = std::move(*session);
    context.patient = &*patient;
  }
  if (!signed_by_peer && (route.access == Access::kBearerToken || route.access == Access::kPeer)) {
    auto verified = session_verifier_ && exchange::looks_like_jwt(bearer)
                        ? session_verifier_(bearer)
                        : tokens_.verify(bearer);
    if (!verified) return problem_response(verified.error());
    caller = std::move(*verified);
    // A doctor of another facility reads under the consent it names; the record store checks it.
    caller->consent_id = std::string(request.header("x-kavach-consent"));
    context.caller = &*caller;
  }
  if (caller && principal_check_) {
    if (auto allowed = principal_check_(caller->client_id); !allowed) {
      return problem_response(allowed.error());
    }
  }
  try {
    return route.handler(request, context);
  } catch (const std::exception& error) {
    log::error("handler_exception", {{"route", route.pattern}, {"what", error.what()}});
  } catch (...) {
    log::error("handler_exception", {{"route", route.pattern}});
  }
  return problem_response(Error{ErrorCode::kInternal, "handler failed"});
}

}  // namespace kavach::http
