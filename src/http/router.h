// Router: maps (method, path pattern) to a handler, authenticates the caller of every route that is
// not public, and turns anything a handler throws into a 500 OperationOutcome. Patterns are
// segment lists with "{name}" placeholders, such as "/fhir/R4/{type}/{id}".
//
// Authentication happens here, before any handler runs: a missing, malformed, forged or expired
// bearer token is a 401; scopes are then checked by the domain service the handler calls.
// Thread-safety: routes are added before serving; handle() is then safe from any thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "auth/token_service.h"
#include "consent/patient_accounts.h"
#include "http/message.h"
#include "http/web_session.h"

namespace kavach::http {

// kPublic: no credentials (probes, key sets, enrolment, sign-in, notices that carry their own
// signature). kBearerToken: a machine client's access token. kPatientSession: a patient's session
// token from sign-in, checked by the consent manager's accounts. kPeer: a bearer token, or a
// message signed by a registered facility's node (exchange/peer_messages.h), on the CM's routes
// that facilities call.
// kFromNode: public at the router, but called only by other nodes (a CM's signed notices, a HIP's
// pushed pages); like kPeer it needs a client certificate when mutual TLS is configured.
enum class Access { kPublic, kBearerToken, kPatientSession, kPeer, kFromNode };

// The headers of a facility-signed message (lowercase, as Request::header looks them up): the
// signer's facility id, and the Ed25519 signature over the body's RFC 8785 form.
inline constexpr std::string_view kPeerFacilityHeader = "x-kavach-facility";
inline constexpr std::string_view kPeerSignatureHeader = "x-kavach-signature";

using PatientAuthenticator = std::function<Result<consent::PatientSession>(std::string_view token)>;
// Verifies a gateway session JWT (exchange/session_tokens.h) as a machine client's token.
using SessionVerifier = std::function<Result<auth::AccessToken>(std::string_view token)>;
// Verifies a facility-signed message: the request's facility and signature headers and body.
using PeerAuthenticator = std::function<Result<auth::AccessToken>(const Request& request)>;
// kPermissionDenied for a principal that may not be served (locked), else ok.
using PrincipalCheck = std::function<Status(std::string_view principal)>;

struct RouteContext {
  std::map<std::string, std::string, std::less<>> path;  // decoded placeholder values
  const auth::AccessToken* caller = nullptr;             // set for kBearerToken routes
  const consent::PatientSession* patient = nullptr;      // set for kPatientSession routes
  const std::string& param(std::string_view name) const;
};

using Handler = std::function<Response(const Request&, const RouteContext&)>;

// How long a route's handler may hold the thread it runs on. A kMayBlock handler runs on the
// server's worker pool: it may wait for a durable commit or call another node. A kBrief handler
// does bounded work on the store and queues its audit entries (Response::durable_first), never
// waiting for a commit, so the server may run it on the connection's own I/O thread and save
// the two thread hand-offs to a worker and back (http/server.h).
enum class Work { kMayBlock, kBrief };
// For a kBrief route whose work is bounded for some requests only (a search: one page through an
// exact index, yes; with _include or _total, no): true when this request's is. Runs when the
// route is matched, before authentication, so it looks at the request alone.
using BriefWhen = std::function<bool(const Request& request, const RouteContext& context)>;

class Router {
 public:
  explicit Router(const auth::TokenService& tokens) : tokens_(tokens) {}

  // `pattern` segments are literals, "{name}" (one segment, percent-decoded) or, last, "{name...}"
  // (the rest of the path, one segment or more).
  void add(std::string method, std::string pattern, Access access, Handler handler,
           Work work = Work::kMayBlock, BriefWhen brief_when = {});
  // Needed before any kPatientSession route can answer; without it they answer 401.
  void set_patient_authenticator(PatientAuthenticator authenticator) {
    patient_authenticator_ = std::move(authenticator);
  }
  // Lets kBearerToken routes accept the CM's session JWTs besides the node's own tokens.
  void set_session_verifier(SessionVerifier verifier) { session_verifier_ = std::move(verifier); }
  // Refuses an authenticated client the anomaly guard has locked (guard/access_guard.h); checked
  // on every kBearerToken and kPeer route, after authentication.
  void set_principal_check(PrincipalCheck check) { principal_check_ = std::move(check); }
  // The CM id (empty unless this node is a CM) and facility id (empty unless it has one) that
  // ABDM's addressing headers must name when a request carries them.
  void set_addressee(std::string cm_id, std::string facility_id) {
    cm_id_ = std::move(cm_id);
    facility_id_ = std::move(facility_id);
  }
  // Mutual TLS between nodes: kPeer and kFromNode routes refuse a request whose connection
  // presented no client certificate the server's client CA verified.
  void require_node_certificates(bool required) { node_certificates_required_ = required; }
  // Lets kPeer routes accept facility-signed messages (on the CM); without it they need a token.
  void set_peer_authenticator(PeerAuthenticator authenticator) {
    peer_authenticator_ = std::move(authenticator);
  }
  // Lets kBearerToken and kPatientSession routes accept the web app's session cookie, with the
  // CSRF check on anything but a read (http/web_session.h).
  void set_web_sessions(const WebSessions* sessions) { web_sessions_ = sessions; }

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Access access;
    Handler handler;
    Work work;
    BriefWhen brief_when;  // empty: every request of a kBrief route is brief
  };

 public:
  // The route a request is for, found before it is handled so the server can choose the thread
  // that handles it. Valid while no route is added.
  class Match {
   public:
    // True when the handler may run on the connection's thread: its route is kBrief (and its
    // BriefWhen, if any, says so of this request) and the request names no consent (a read
    // under another facility's consent may first have to confirm that consent with the CM,
    // consent/hip_consents.h).
    bool brief() const { return brief_ && !consented_; }

   private:
    friend class Router;
    const Route* route_ = nullptr;  // null: no route for this path and method
    bool path_matched_ = false;     // some route has the path (so the method is what is wrong)
    bool brief_ = false;
    bool consented_ = false;
    RouteContext context_;
  };

  Match match(const Request& request) const;
  // Authenticates the caller and runs the matched route's handler (or answers 404 or 405).
  Response handle(const Request& request, Match match) const;
  Response handle(const Request& request) const { return handle(request, match(request)); }

 private:
  static bool matches(const Route& route, const std::vector<std::string_view>& segments,
                      RouteContext& context);
  Response dispatch(const Route& route, const Request& request, RouteContext& context) const;

  const auth::TokenService& tokens_;
  PatientAuthenticator patient_authenticator_;
  SessionVerifier session_verifier_;
  PeerAuthenticator peer_authenticator_;
  PrincipalCheck principal_check_;
  const WebSessions* web_sessions_ = nullptr;
  std::string cm_id_;
  std::string facility_id_;
  bool node_certificates_required_ = false;
  std::vector<Route> routes_;
};

}  // namespace kavach::http
