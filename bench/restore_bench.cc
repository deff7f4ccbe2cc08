// The restore benchmark of issue 7: a store of N resources (default 1,000,000) is backed up to a
// local repository, then restored into an empty store and verified (every batch read back and
// compared, and the audit log checked against its signed checkpoint). Target on the 2-core
// machine: restored and verified in under 2 minutes.
//
// The source store is written directly through the store seam (as a node's writes land there,
// but without the FHIR layer, which would take far longer than the thing measured): each resource
// a sealed payload of about 1 KB under its patient's data key, 8 blind-index entries, and one
// audit entry; one data key per patient.
//
// Usage: restore_bench [--resources N] [--patients P] [--dir DIR] [--keep]
// Prints one JSON line per phase and a summary.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <fmt/format.h>

#include "audit/audit_log.h"
#include "audit/log_verifier.h"
#include "backup/backup_writer.h"
#include "backup/restorer.h"
#include "crypto/aead.h"
#include "crypto/encoding.h"
#include "crypto/keyed_hash.h"
#include "store/store_factory.h"
#include "vault/key_vault.h"
#include "vault/record_sealer.h"

namespace {

using namespace kavach;
using Steady = std::chrono::steady_clock;

double seconds_since(Steady::time_point start) {
  return std::chrono::duration<double>(Steady::now() - start).count();
}

void phase(std::string_view name, double seconds, std::int64_t items) {
  std::cout << fmt::format(R"({{"phase":"{}","seconds":{:.2f},"items":{},"per_second":{:.0f}}})",
                           name, seconds, items, static_cast<double>(items) / seconds)
            << std::endl;
}

template <typename T>
T must(Result<T> result, std::string_view what) {
  if (!result) {
    std::cerr << what << ": " << result.error().message << "\n";
    std::exit(1);
  }
  return std::move(*result);
}

void must(const Status& status, std::string_view what) {
  if (!status) {
    std::cerr << what << ": " << status.error().message << "\n";
    std::exit(1);
  }
}

// Writes the source store and backs it up in full into dir/repository.
void build_source_and_backup(const std::filesystem::path& dir, std::int64_t resources,
                             std::int64_t patients, const Clock& clock) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto ring = must(crypto::KeyRing::create(dir / "node.key"), "key file");
  auto source = must(store::open_store("sqlite:" + (dir / "source.db").string()), "source store");

  // Patients' data keys, in batches.
  auto start = Steady::now();
  std::vector<crypto::SecretBytes> patient_keys;
  for (std::int64_t p = 0; p < patients;) {
    store::WriteBatch batch;
    for (; p < patients && batch.keys.size() < 5000; ++p) {
      patient_keys.push_back(crypto::SecretBytes::random(crypto::kAeadKeyBytes));
      store::KeyWrite write;
      write.key = vault::wrap_key(ring, fmt::format("patient/p{}", p), patient_keys.back(),
                                  unix_ms(clock.now()));
      batch.keys.push_back(std::move(write));
    }
    must(source->commit(std::move(batch)), "keys");
  }
  vault::KeyVault keys(*source, ring, clock);
  auto log = must(
      audit::AuditLog::open(*source, must(audit::node_audit_signer(keys, ""), "signer"), clock),
      "audit log");
  const auto index_key = crypto::SecretBytes::random(32);
  std::string body(1000, 'x');
  for (std::int64_t r = 0; r < resources;) {
    store::WriteBatch batch;
    for (; r < resources && batch.records.size() < 1000; ++r) {
      const std::int64_t p = r % patients;
      const std::string partition = fmt::format("p{}", p);
      // Random ids, as the server assigns them (128 random bits): records land all over the table.
      const std::string id = crypto::to_hex(crypto::SecretBytes::random(16).view());
      store::RecordWrite write;
      write.record = store::RecordVersion{
          partition, "Observation", id, 1, 0, unix_ms(clock.now()), false, {}, {}};
      body.replace(0, id.size(), id);
      write.record.payload = crypto::seal(
          patient_keys[static_cast<std::size_t>(p)],
          std::span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()), id);
      vault::attach_payload_digest(write.record);  // as the vault's sealer does
      for (int n = 0; n < 8; ++n) {
        const auto tag = crypto::blind_index(index_key, fmt::format("Observation.{}", n),
                                             fmt::format("{}-{}", n, r % (1000 + n)));
        write.index.push_back(
            store::IndexEntry{fmt::format("param{}", n), store::Bytes(tag.begin(), tag.end())});
      }
      audit::AuditEntry entry;
      entry.time_ms = unix_ms(clock.now());
      entry.action = audit::Action::kRecordCreate;
      entry.actor_id = "client-hmis";
      entry.subject = partition;
      entry.resource_type = "Observation";
      entry.resource_id = id;
      must(audit::append_entry(batch, entry), "audit entry");
      batch.records.push_back(std::move(write));
    }
    must(source->commit(std::move(batch)), "records");
  }
  must(log->checkpoint_now(), "checkpoint");
  phase("write_source", seconds_since(start), resources);

  auto repository =
      must(backup::DirectoryRepository::open(dir / "repository", clock), "repository");
  const auto backup_key = must(backup::BackupKey::create(dir / "backup.key"), "backup key");
  start = Steady::now();
  backup::BackupWriter writer(*source, ring, backup_key, *repository, clock);
  const auto summary = must(writer.take_snapshot(), "backup");
  phase("backup_full", seconds_since(start), summary.new_record_versions);
  std::cout << fmt::format(R"({{"repository_bytes":{}}})", summary.bytes_sent) << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t resources = 1'000'000;
  std::int64_t patients = 100'000;
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "kavach-restore-bench";
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--resources" && i + 1 < argc)
      resources = std::stoll(argv[++i]);
    else if (arg == "--patients" && i + 1 < argc)
      patients = std::stoll(argv[++i]);
    else if (arg == "--dir" && i + 1 < argc)
      dir = argv[++i];
    else if (arg == "--keep")  // keep the directory; a later --keep run restores from it again
      keep = true;
    else {
      std::cerr << "usage: restore_bench [--resources N] [--patients P] [--dir DIR] [--keep]\n";
      return 2;
    }
  }
  SystemClock clock;
  // With --keep, a directory a kept run left is reused: only the restore is measured again.
  const bool reuse = keep && std::filesystem::exists(dir / "backup.key");
  if (!reuse) build_source_and_backup(dir, resources, patients, clock);
  std::filesystem::remove(dir / "restored.db");
  std::filesystem::remove(dir / "restored.db-wal");
  std::filesystem::remove(dir / "restored.db-shm");
  std::filesystem::remove(dir / "restored.key");
  auto repository =
      must(backup::DirectoryRepository::open(dir / "repository", clock), "repository");
  const auto backup_key = must(backup::BackupKey::load(dir / "backup.key"), "backup key");
  const auto snapshot = must(backup::choose_snapshot(*repository, "", std::nullopt), "snapshot");
  const auto target_ring = must(crypto::KeyRing::create(dir / "restored.key"), "key file");
  auto start = Steady::now();
  std::int64_t restored_versions = 0;
  {
    auto target = must(store::open_store("sqlite:" + (dir / "restored.db").string()), "target");
    const auto report =
        must(backup::restore_snapshot(*repository, backup_key, snapshot, *target, target_ring),
             "restore");
    restored_versions = report.record_versions;
    phase("restore_and_read_back", seconds_since(start), restored_versions);
    const auto verify_start = Steady::now();
    vault::KeyVault target_keys(*target, target_ring, clock);
    const auto signer = must(audit::node_audit_signer(target_keys, ""), "signer");
    const auto verified = must(
        audit::verify_log(*target, must(audit::NoteVerifier::parse(signer.verifier_key()), "key")),
        "audit verify");
    if (!verified.ok()) {
      std::cerr << "the restored audit log failed verification\n";
      return 1;
    }
    phase("audit_verify", seconds_since(verify_start), static_cast<std::int64_t>(verified.entries));
  }
  const double total = seconds_since(start);
  std::cout
      << fmt::format(
             R"x({{"summary":"restored and verified {} resources in {:.1f} s (target < 120 s)"}})x",
             restored_versions, total)
      << std::endl;
  if (!keep) std::filesystem::remove_all(dir);
  return 0;
}
