// Bulk export jobs (FHIR Bulk Data Access 2.0: $export at system, Patient and Group level).
//
// A kick-off records the job and returns at once; one worker thread then chooses the records of
// each type (ids only, nothing opened) and cuts them into output files of kExportFileRecords. The
// status shows progress, then the manifest; each output file is produced when it is fetched, from
// the records as they were at the job's transaction time, opened and logged (record.export) then,
// so no export output ever lies on disk in plaintext. Only the client that started a job can see
// its status and files. Jobs live in memory: a restart forgets them (the client starts again), and
// a finished job is forgotten after kExportRetention.
//
// Thread-safety: safe from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/token_service.h"
#include "common/clock.h"
#include "common/error.h"
#include "fhir/resource_service.h"

namespace kavach::fhir {

inline constexpr std::size_t kExportFileRecords = 1000;
inline constexpr std::chrono::hours kExportRetention{24};
inline constexpr std::size_t kExportJobsPerClientMax = 4;

struct ExportRequest {
  enum class Level { kSystem, kPatient, kGroup };
  Level level = Level::kSystem;
  std::string group_id;
  std::vector<std::string> types;  // empty: every type the client may read
  std::int64_t since_ms = 0;
  std::string request_url;  // as the client sent it, for the manifest
};

struct ExportFile {
  std::string type;
  std::size_t count = 0;
};

struct ExportStatus {
  enum class State { kRunning, kComplete, kFailed };
  State state = State::kRunning;
  std::int64_t transaction_time_ms = 0;
  std::string request_url;
  std::vector<ExportFile> files;  // complete: file n is fetched as output(job, n)
  std::string progress;           // running: what it is doing
  std::optional<Error> error;     // failed
};

class BulkExports {
 public:
  BulkExports(ResourceService& resources, const Clock& clock);
  ~BulkExports();
  BulkExports(const BulkExports&) = delete;
  BulkExports& operator=(const BulkExports&) = delete;

  // The new job's id. kPermissionDenied for a type the client may not read, kResourceExhausted
  // when the client already has kExportJobsPerClientMax jobs.
  Result<std::string> kick_off(const auth::AccessToken& caller, ExportRequest request);
  // kNotFound for a job that is not the caller's (or no longer kept).
  Result<ExportStatus> status(const auth::AccessToken& caller, const std::string& job);
  // Output file `index` of a complete job, as NDJSON.
  Result<std::string> output(const auth::AccessToken& caller, const std::string& job,
                             std::size_t index);
  // Cancels a running job or forgets a finished one.
  Status remove(const auth::AccessToken& caller, const std::string& job);

 private:
  struct Job;
  void work();
  void run(Job& job);
  // The caller's job, with the lock held; expired jobs are dropped first.
  Job* find(const auth::AccessToken& caller, const std::string& id);

  ResourceService& resources_;
  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace kavach::fhir
