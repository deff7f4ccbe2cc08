// What `kavach backup`, `kavach restore` and `kavach serve --from-backup` share: reaching a
// repository from the command line's flags, and restoring a node from it (issue 7).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "backup/repository.h"
#include "backup/restorer.h"
#include "cli/node.h"
#include "common/clock.h"

namespace kavach::cli {

// Where a repository is and how to reach it: a backup server's URL with its client token, or a
// directory (a disk mounted on this machine: no protection against this machine's own users).
struct RepositoryFlags {
  std::string repo;
  std::filesystem::path token_file;
  std::filesystem::path backup_key_file;
  std::filesystem::path ca_file;
};

// The backup server's client token from its file (mode 0600, 32 characters or more).
Result<std::string> read_client_token(const std::filesystem::path& path);
bool is_repository_url(std::string_view repo);
Result<std::unique_ptr<backup::Repository>> open_repository(const RepositoryFlags& flags,
                                                            const Clock& clock);

struct RestoredNode {
  backup::RestoreReport report;
  std::uint64_t audit_entries = 0;
  std::uint64_t audit_checkpoint_size = 0;
  std::chrono::milliseconds elapsed{0};  // restore and verification
};

// Restores a snapshot (`snapshot` id or prefix, else the latest at or before `at_ms`, else the
// latest) into `target`'s empty store, under its key file (created if absent), then checks the
// restored audit log against the node's signatures. Everything restored is read back and compared.
Result<RestoredNode> restore_node(const RepositoryFlags& flags, const std::string& snapshot,
                                  std::optional<std::int64_t> at_ms, const NodeOptions& target);
void print_restore(const RestoredNode& restored);

}  // namespace kavach::cli
