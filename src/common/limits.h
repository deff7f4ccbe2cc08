// Every bound Kavach enforces, in one place (TigerBeetle style: a stated limit on everything).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace kavach::limits {

// HTTP
inline constexpr std::size_t kHeaderBytesMax = std::size_t{16} * 1024;
inline constexpr std::size_t kBodyBytesMax = std::size_t{16} * 1024 * 1024;
inline constexpr std::chrono::seconds kReadTimeout{30};
inline constexpr std::chrono::seconds kIdleTimeout{60};
inline constexpr std::chrono::seconds kDrainTimeout{20};
inline constexpr std::size_t kConnectionsMax = 4096;
inline constexpr std::size_t kWorkerThreadsMax = 64;

// Tokens and credentials
inline constexpr std::chrono::seconds kAccessTokenLifetime{300};
inline constexpr std::size_t kTokenBytesMax = 4096;
inline constexpr std::size_t kScopesMax = 64;
inline constexpr std::size_t kScopeBytesMax = 128;
inline constexpr std::size_t kClientNameBytesMax = 200;
// Client-secret checks (Argon2id, 64 MiB each) running at once; more are refused with 429.
inline constexpr std::size_t kSecretChecksConcurrentMax = 4;

// Store
inline constexpr std::size_t kWriteBatchOperationsMax = 20'000;
inline constexpr std::size_t kGroupCommitBatchesMax = 256;
inline constexpr std::size_t kWriteQueueMax = 10'000;
inline constexpr std::size_t kReadConnectionsMax = 16;
inline constexpr std::size_t kPostgresPoolMax = 16;
inline constexpr std::size_t kPageSizeMax = 1000;
inline constexpr std::size_t kHistoryVersionsMax = 1000;
inline constexpr std::chrono::seconds kStoreBusyTimeout{10};

// Records
inline constexpr std::size_t kResourceIdBytesMax = 64;
// Synthea's Provenance names every record of its bundle as a target: a few thousand values.
inline constexpr std::size_t kIndexValuesPerResourceMax = 10'000;
inline constexpr std::size_t kJsonDepthMax = 64;
inline constexpr std::size_t kSearchValueBytesMax = 4096;

}  // namespace kavach::limits
