#include "fhir/bulk_exports.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/log.h"
#include "fhir/resource_types.h"

namespace kavach::fhir {

struct BulkExports::Job {
  std::string id;
  auth::AccessToken caller;
  ExportRequest request;
  std::vector<std::string> types;
  std::vector<std::string> patients;  // a Group's members
  ExportStatus status;
  std::vector<std::vector<std::string>> file_ids;  // the ids of each output file
  std::vector<ExportSelection> file_selections;
  std::int64_t finished_at_ms = 0;
  bool cancelled = false;
};

BulkExports::BulkExports(ResourceService& resources, const Clock& clock)
    : resources_(resources), clock_(clock), worker_([this] { work(); }) {}

BulkExports::~BulkExports() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [id, job] : jobs_) job->cancelled = true;
  }
  wake_.notify_all();
  worker_.join();
}

Result<std::string> BulkExports::kick_off(const auth::AccessToken& caller, ExportRequest request) {
  std::vector<std::string> types = request.types;
  if (types.empty()) {
    // Every stored type the client may read (Group itself only at system level).
    for (const auto type : supported_types()) {
      if (caller.scopes.allows(type, auth::Interaction::kRead)) types.emplace_back(type);
    }
  }
  for (const auto& type : types) RETURN_IF_ERROR(resources_.export_allowed(caller, type));
  if (types.empty()) {
    return make_error(ErrorCode::kPermissionDenied,
                      caller.consent_id.empty() ? "the client's scopes allow no type to be read"
                                                : "a consent does not allow a bulk export");
  }
  auto job = std::make_shared<Job>();
  if (request.level == ExportRequest::Level::kGroup) {
    ASSIGN_OR_RETURN(job->patients, resources_.group_patients(caller, request.group_id));
  }
  job->id = new_resource_id(unix_ms(clock_.now()));
  job->caller = caller;
  job->types = std::move(types);
  job->status.transaction_time_ms = unix_ms(clock_.now());
  job->status.request_url = request.request_url;
  job->status.progress = "queued";
  job->request = std::move(request);
  std::lock_guard lock(mutex_);
  const auto running = std::count_if(jobs_.begin(), jobs_.end(), [&](const auto& entry) {
    return entry.second->caller.client_id == caller.client_id;
  });
  if (static_cast<std::size_t>(running) >= kExportJobsPerClientMax) {
    return make_error(
        ErrorCode::kResourceExhausted,
        fmt::format("a client may keep {} exports; delete one first", kExportJobsPerClientMax));
  }
  jobs_.emplace(job->id, job);
  queue_.push_back(job);
  wake_.notify_one();
  return job->id;
}

void BulkExports::work() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = queue_.front();
      queue_.pop_front();
    }
    run(*job);
  }
}

void BulkExports::run(Job& job) {
  std::vector<std::vector<std::string>> file_ids;
  std::vector<ExportSelection> selections;
  std::vector<ExportFile> files;
  std::optional<Error> failure;
  for (const auto& type : job.types) {
    ExportSelection selection;
    selection.type = type;
    selection.every_patient = job.request.level == ExportRequest::Level::kPatient;
    selection.patients = job.patients;
    selection.since_ms = job.request.since_ms;
    selection.as_of_ms = job.status.transaction_time_ms;
    if (job.request.level == ExportRequest::Level::kGroup && job.patients.empty()) continue;
    std::string after;
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (job.cancelled) return;
        job.status.progress =
            fmt::format("choosing {} records ({} files so far)", type, files.size());
      }
      auto ids = resources_.export_ids(job.caller, selection, after, kExportFileRecords);
      if (!ids) {
        failure = ids.error();
        break;
      }
      if (ids->empty()) break;
      after = ids->back();
      files.push_back(ExportFile{type, ids->size()});
      const bool last = ids->size() < kExportFileRecords;
      file_ids.push_back(std::move(*ids));
      selections.push_back(selection);
      if (last) break;
    }
    if (failure) break;
  }
  std::lock_guard lock(mutex_);
  job.finished_at_ms = unix_ms(clock_.now());
  if (failure) {
    log::warn("fhir.export_failed", {{"job", job.id}, {"error", failure->message}});
    job.status.state = ExportStatus::State::kFailed;
    job.status.error = failure;
    return;
  }
  job.status.state = ExportStatus::State::kComplete;
  job.status.files = std::move(files);
  job.file_ids = std::move(file_ids);
  job.file_selections = std::move(selections);
}

BulkExports::Job* BulkExports::find(const auth::AccessToken& caller, const std::string& id) {
  const std::int64_t now = unix_ms(clock_.now());
  const auto retention =
      std::chrono::duration_cast<std::chrono::milliseconds>(kExportRetention).count();
  std::erase_if(jobs_, [&](const auto& entry) {
    return entry.second->finished_at_ms != 0 && now - entry.second->finished_at_ms > retention;
  });
  const auto found = jobs_.find(id);
  if (found == jobs_.end() || found->second->caller.client_id != caller.client_id) return nullptr;
  return found->second.get();
}

Result<ExportStatus> BulkExports::status(const auth::AccessToken& caller, const std::string& job) {
  std::lock_guard lock(mutex_);
  const auto* found = find(caller, job);
  if (found == nullptr) return make_error(ErrorCode::kNotFound, "no such export");
  return found->status;
}

Result<std::string> BulkExports::output(const auth::AccessToken& caller, const std::string& job,
                                        std::size_t index) {
  std::vector<std::string> ids;
  ExportSelection selection;
  {
    std::lock_guard lock(mutex_);
    const auto* found = find(caller, job);
    if (found == nullptr || found->status.state != ExportStatus::State::kComplete ||
        index >= found->file_ids.size()) {
      return make_error(ErrorCode::kNotFound, "no such export file");
    }
    ids = found->file_ids[index];
    selection = found->file_selections[index];
  }
  // The scopes of the caller fetching the file, which may have narrowed since the kick-off.
  return resources_.export_ndjson(caller, selection, ids);
}

Status BulkExports::remove(const auth::AccessToken& caller, const std::string& job) {
  std::lock_guard lock(mutex_);
  auto* found = find(caller, job);
  if (found == nullptr) return make_error(ErrorCode::kNotFound, "no such export");
  found->cancelled = true;
  std::erase_if(queue_, [&](const auto& queued) { return queued.get() == found; });
  jobs_.erase(job);
  return {};
}

}  // namespace kavach::fhir
