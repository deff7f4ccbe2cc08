// The audit log, read-only: the C2SP tlog-tiles layout under /audit/log/ and RFC 9162 proofs;
// and this node's witness (C2SP tlog-witness) under /audit/witness/.
// Checkpoints, hash tiles and proofs are public: they hold hashes only, and witnesses and
// off-the-shelf verifiers fetch them without an account. Entry bundles name who accessed which
// record, so they need the auditor scope.
#include <charconv>

#include <boost/json.hpp>

#include "audit/tile_path.h"
#include "crypto/encoding.h"
#include "http/api.h"
#include "http/problem.h"

namespace kavach::http {
namespace {

std::optional<std::uint64_t> query_number(const QueryParameters& query, std::string_view name) {
  for (const auto& [key, value] : query) {
    if (key != name) continue;
    std::uint64_t number = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (error != std::errc() || end != value.data() + value.size()) return std::nullopt;
    return number;
  }
  return std::nullopt;
}

Response proof_response(std::string_view kind, boost::json::object fields,
                        const std::vector<audit::Hash>& proof) {
  boost::json::array hashes;
  for (const auto& hash : proof) hashes.emplace_back(crypto::to_base64(hash));
  fields["proof"] = std::move(hashes);
  fields["kind"] = kind;
  Response response;
  response.body = boost::json::serialize(fields);
  response.set_header("Content-Type", "application/json");
  return response;
}

Response binary_response(store::Bytes bytes, bool immutable) {
  Response response;
  response.body.assign(bytes.begin(), bytes.end());
  response.set_header("Content-Type", "application/octet-stream");
  // Full tiles never change; a partial tile is replaced as the log grows.
  response.set_header("Cache-Control",
                      immutable ? "public, max-age=31536000, immutable" : "no-cache");
  return response;
}

}  // namespace

void add_audit_routes(Router& router, const ApiServices& services) {
  const audit::AuditLog& log = services.audit_log;

  router.add("GET", "/audit/log/checkpoint", Access::kPublic,
             [&log, cosignatures = services.cosignatures](const Request&, const RouteContext&) {
               const auto latest = log.latest_checkpoint();
               if (!latest) return problem_response(404, "not-found", "the log has no entries yet");
               Response response;
               response.body = latest->note;
               // With the witnesses' cosignatures once they have cosigned this very checkpoint.
               if (cosignatures != nullptr) {
                 auto cosigned = cosignatures->cosigned_note();
                 if (cosigned.starts_with(latest->note)) response.body = std::move(cosigned);
               }
               response.set_header("Content-Type", "text/plain; charset=utf-8");
               response.set_header("Cache-Control", "no-cache");
               return response;
             });

  router.add("GET", "/audit/log/key", Access::kPublic, [&log](const Request&, const RouteContext&) {
    Response response;
    response.body = log.verifier_key() + "\n";
    response.set_header("Content-Type", "text/plain; charset=utf-8");
    return response;
  });

  router.add("GET", "/audit/log/tile/entries/{rest...}", Access::kBearerToken,
             [&log](const Request&, const RouteContext& context) {
               if (!context.caller->scopes.has(kAuditorScope)) {
                 return problem_response(403, "forbidden",
                                         "reading audit entries needs the kavach/audit scope");
               }
               auto tile = audit::parse_tile_path("entries/" + context.param("rest"));
               if (!tile) return problem_response(tile.error());
               auto bundle = log.entry_bundle(tile->index, tile->width);
               if (!bundle) return problem_response(bundle.error());
               return binary_response(std::move(*bundle), tile->width == audit::kTileWidth);
             });

  router.add("GET", "/audit/log/tile/{rest...}", Access::kPublic,
             [&log](const Request&, const RouteContext& context) {
               auto tile = audit::parse_tile_path(context.param("rest"));
               if (!tile) return problem_response(tile.error());
               auto hashes = log.hash_tile(tile->level, tile->index, tile->width);
               if (!hashes) return problem_response(hashes.error());
               return binary_response(std::move(*hashes), tile->width == audit::kTileWidth);
             });

  // C2SP tlog-witness: the caller is authenticated by the log's signature on the checkpoint.
  router.add("POST", "/audit/witness/add-checkpoint", Access::kPublic,
             [&witness = services.witness](const Request& request, const RouteContext&) {
               const auto answer = witness.answer(request.body);
               Response response;
               response.status = answer.status;
               response.body = answer.body;
               response.set_header("Content-Type", answer.content_type);
               return response;
             });

  router.add("GET", "/audit/proof/inclusion", Access::kPublic,
             [&log](const Request& request, const RouteContext&) {
               const auto query = parse_query(request.query);
               const auto index = query_number(query, "index");
               const auto size = query_number(query, "size");
               if (!index || !size) {
                 return problem_response(400, "invalid",
                                         "give index and size as non-negative integers");
               }
               auto proof = log.inclusion_proof(*index, *size);
               if (!proof) return problem_response(proof.error());
               return proof_response("inclusion", {{"index", *index}, {"size", *size}}, *proof);
             });

  router.add("GET", "/audit/proof/consistency", Access::kPublic,
             [&log](const Request& request, const RouteContext&) {
               const auto query = parse_query(request.query);
               const auto from = query_number(query, "from");
               const auto to = query_number(query, "to");
               if (!from || !to || *from > *to) {
                 return problem_response(
                     400, "invalid", "give from and to as non-negative integers with from <= to");
               }
               auto proof = log.consistency_proof(*from, *to);
               if (!proof) return problem_response(proof.error());
               return proof_response("consistency", {{"from", *from}, {"to", *to}}, *proof);
             });
}

}  // namespace kavach::http
