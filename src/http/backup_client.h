// RemoteRepository: a node's side of the backup server's API (http/backup_routes.h), as a
// backup::Repository. Plain HTTP only to loopback; anything else must be HTTPS (HttpClient).
// Thread-safety: safe from any thread (each call uses its own connection).
#pragma once

#include <memory>
#include <string>

#include "backup/admin_request.h"
#include "backup/repository.h"
#include "http/client.h"

namespace kavach::http {

class RemoteRepository final : public backup::Repository {
 public:
  // `base_url` such as "https://backup.example.org:8443"; `token` the server's client token.
  static Result<std::unique_ptr<RemoteRepository>> connect(std::string base_url, std::string token,
                                                           ClientOptions options = {});

  Status put_object(const std::string& id, std::span<const std::uint8_t> object) override;
  Result<std::vector<std::string>> missing_objects(const std::vector<std::string>& ids) override;
  Result<backup::Bytes> get_object(const std::string& id) override;
  Status add_snapshot(const backup::SnapshotEntry& entry) override;
  Result<std::vector<backup::SnapshotEntry>> snapshots() override;

  // Sends an admin request signed with the admin key; returns the server's JSON answer.
  Result<std::string> send_admin_request(std::string_view note, backup::AdminOperation operation);

 private:
  RemoteRepository(std::string base_url, std::string token, std::unique_ptr<HttpClient> client)
      : base_url_(std::move(base_url)), token_(std::move(token)), client_(std::move(client)) {}
  HttpClient::HeaderList auth() const;
  std::string base_url_;
  std::string token_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace kavach::http
