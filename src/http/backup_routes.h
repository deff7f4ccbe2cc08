// The backup server's API (`kavach backup-server`, issue 7): thin handlers over a
// DirectoryRepository, meant to run on another machine than the nodes it keeps.
//
// A node authenticates with the client token the server was started with. With it, a node can add
// objects and snapshots and read them back, nothing else: no route deletes, overwrites or
// truncates, and an object whose bytes do not hash to its name is refused. Pruning and changing
// the retention period take a request signed by the offline admin key (backup/admin_request.h).
//
//   GET  /v1/snapshots                 every listed snapshot, oldest first
//   POST /v1/snapshots                 list one: {"id", "parent", "objects"}
//   POST /v1/objects/missing           ["id", ...] -> the ids not held
//   POST /v1/objects/{id}              store an object (its bytes as the body)
//   GET  /v1/objects/{id}              an object's bytes
//   GET  /v1/retention                 {"days"}
//   POST /v1/admin/prune               a signed "prune <before ms>" request
//   POST /v1/admin/retention           a signed "retention <days>" request
// Thread-safety: handlers are safe from any thread (the repository serialises its list).
#pragma once

#include <string>

#include "backup/admin_request.h"
#include "backup/repository.h"
#include "http/router.h"

namespace kavach::http {

struct BackupServerAuth {
  std::string client_token;  // what nodes present as "Authorization: Bearer <token>"
  backup::AdminRequestGate* admin = nullptr;
};

void add_backup_server_routes(Router& router, backup::DirectoryRepository& repository,
                              const BackupServerAuth& auth);

}  // namespace kavach::http
