#include "backup/snapshot_format.h"

#include <sodium.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "crypto/sodium.h"

namespace kavach::backup {
namespace {

namespace json = boost::json;

constexpr std::string_view kRecordsMagic = "KVBREC1";
constexpr std::string_view kKeysMagic = "KVBKEY1";
constexpr std::string_view kAuditMagic = "KVBAUD1";
constexpr std::string_view kTilesMagic = "KVBTIL1";
constexpr std::string_view kCheckpointsMagic = "KVBCKP1";
constexpr std::string_view kManifestFormat = "kavach-snapshot/1";

class ByteWriter {
 public:
  explicit ByteWriter(std::string_view magic) { put_raw(magic); }
  void put_u64(std::uint64_t value) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  }
  void put_i64(std::int64_t value) { put_u64(static_cast<std::uint64_t>(value)); }
  void put_bytes(std::span<const std::uint8_t> bytes) {
    put_u64(bytes.size());
    out_.insert(out_.end(), bytes.begin(), bytes.end());
  }
  void put_string(std::string_view text) {
    put_bytes(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }
  Bytes take() { return std::move(out_); }

 private:
  void put_raw(std::string_view text) { out_.insert(out_.end(), text.begin(), text.end()); }
  Bytes out_;
};

// Reads what ByteWriter wrote; the first short read makes ok() false and every later read a no-op.
class ByteReader {
 public:
  ByteReader(std::span<const std::uint8_t> bytes, std::string_view magic) : bytes_(bytes) {
    ok_ = bytes_.size() >= magic.size() &&
          std::equal(magic.begin(), magic.end(), bytes_.begin(),
                     [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; });
    if (ok_) bytes_ = bytes_.subspan(magic.size());
  }
  std::uint64_t u64() {
    if (!ok_ || bytes_.size() < 8) return fail();
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value |= std::uint64_t{bytes_[i]} << (8 * i);
    bytes_ = bytes_.subspan(8);
    return value;
  }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  // A flag is 0 or 1; anything else is malformed (one encoding per content).
  bool flag() {
    const std::uint64_t value = u64();
    if (value > 1) fail();
    return value == 1;
  }
  std::span<const std::uint8_t> bytes() {
    const std::uint64_t size = u64();
    if (!ok_ || size > bytes_.size()) {
      fail();
      return {};
    }
    const auto out = bytes_.first(size);
    bytes_ = bytes_.subspan(size);
    return out;
  }
  Bytes byte_vector() {
    const auto span = bytes();
    return Bytes(span.begin(), span.end());
  }
  std::string string() {
    const auto span = bytes();
    return std::string(span.begin(), span.end());
  }
  // A count of items each at least `min_item_bytes` long: refused if the rest cannot hold them,
  // so a forged count cannot make the decoder reserve memory it will never fill.
  std::size_t count(std::size_t min_item_bytes) {
    const std::uint64_t n = u64();
    if (!ok_ || n > bytes_.size() / std::max<std::size_t>(min_item_bytes, 1)) {
      fail();
      return 0;
    }
    return static_cast<std::size_t>(n);
  }
  bool finished_ok() const { return ok_ && bytes_.empty(); }

 private:
  std::uint64_t fail() {
    ok_ = false;
    return 0;
  }
  std::span<const std::uint8_t> bytes_;
  bool ok_ = true;
};

Error malformed(std::string_view what) {
  return Error{ErrorCode::kDataLoss, fmt::format("a backup {} object is malformed", what)};
}

json::array id_array(const std::vector<std::string>& ids) {
  json::array array;
  for (const auto& id : ids) array.emplace_back(id);
  return array;
}

Result<std::vector<std::string>> id_list(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr || !value->is_array()) return tl::unexpected(malformed("manifest"));
  std::vector<std::string> ids;
  for (const auto& id : value->as_array()) {
    if (!id.is_string() || !is_object_id(id.as_string())) {
      return tl::unexpected(malformed("manifest"));
    }
    ids.emplace_back(id.as_string());
  }
  return ids;
}

Result<std::int64_t> int_field(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr || !value->is_int64()) return tl::unexpected(malformed("manifest"));
  return value->as_int64();
}

}  // namespace

Bytes encode_records(const std::vector<RecordEntry>& records) {
  ByteWriter out(kRecordsMagic);
  out.put_u64(records.size());
  for (const auto& entry : records) {
    const auto& record = entry.record;
    out.put_string(record.partition);
    out.put_string(record.type);
    out.put_string(record.id);
    out.put_i64(record.version);
    out.put_i64(record.sequence);
    out.put_i64(record.recorded_at_ms);
    out.put_u64(record.deleted ? 1 : 0);
    out.put_bytes(record.payload);
    out.put_u64(entry.has_index ? 1 : 0);
    out.put_u64(entry.index.size());
    for (const auto& index : entry.index) {
      out.put_string(index.name);
      out.put_bytes(index.value);
    }
  }
  return out.take();
}

Result<std::vector<RecordEntry>> decode_records(std::span<const std::uint8_t> bytes) {
  ByteReader in(bytes, kRecordsMagic);
  std::vector<RecordEntry> records(in.count(10 * 8));
  for (auto& entry : records) {
    auto& record = entry.record;
    record.partition = in.string();
    record.type = in.string();
    record.id = in.string();
    record.version = in.i64();
    record.sequence = in.i64();
    record.recorded_at_ms = in.i64();
    record.deleted = in.flag();
    record.payload = in.byte_vector();
    entry.has_index = in.flag();
    entry.index.resize(in.count(2 * 8));
    for (auto& index : entry.index) {
      index.name = in.string();
      index.value = in.byte_vector();
    }
  }
  if (!in.finished_ok()) return tl::unexpected(malformed("record segment"));
  return records;
}

Bytes encode_keys(const std::vector<KeyEntry>& keys) {
  ByteWriter out(kKeysMagic);
  out.put_u64(keys.size());
  for (const auto& key : keys) {
    out.put_string(key.name);
    out.put_bytes(key.key.view());
    out.put_i64(key.created_at_ms);
    out.put_i64(key.erased_at_ms);
  }
  return out.take();
}

Result<std::vector<KeyEntry>> decode_keys(std::span<const std::uint8_t> bytes) {
  ByteReader in(bytes, kKeysMagic);
  std::vector<KeyEntry> keys(in.count(4 * 8));
  for (auto& key : keys) {
    key.name = in.string();
    key.key = crypto::SecretBytes(in.bytes());
    key.created_at_ms = in.i64();
    key.erased_at_ms = in.i64();
  }
  if (!in.finished_ok()) return tl::unexpected(malformed("key chunk"));
  return keys;
}

Bytes encode_audit_entries(const std::vector<store::StoredAuditEntry>& entries) {
  ByteWriter out(kAuditMagic);
  out.put_u64(entries.size());
  for (const auto& entry : entries) {
    out.put_i64(entry.index);
    out.put_string(entry.subject);
    out.put_bytes(entry.entry);
  }
  return out.take();
}

Result<std::vector<store::StoredAuditEntry>> decode_audit_entries(
    std::span<const std::uint8_t> bytes) {
  ByteReader in(bytes, kAuditMagic);
  std::vector<store::StoredAuditEntry> entries(in.count(3 * 8));
  for (auto& entry : entries) {
    entry.index = in.i64();
    entry.subject = in.string();
    entry.entry = in.byte_vector();
  }
  if (!in.finished_ok()) return tl::unexpected(malformed("audit segment"));
  return entries;
}

Bytes encode_tiles(const std::vector<store::AuditTile>& tiles) {
  ByteWriter out(kTilesMagic);
  out.put_u64(tiles.size());
  for (const auto& tile : tiles) {
    out.put_i64(tile.level);
    out.put_i64(tile.index);
    out.put_bytes(tile.hashes);
  }
  return out.take();
}

Result<std::vector<store::AuditTile>> decode_tiles(std::span<const std::uint8_t> bytes) {
  ByteReader in(bytes, kTilesMagic);
  std::vector<store::AuditTile> tiles(in.count(3 * 8));
  for (auto& tile : tiles) {
    const std::int64_t level = in.i64();
    if (level < 0 || level > 64) return tl::unexpected(malformed("tile segment"));
    tile.level = static_cast<int>(level);
    tile.index = in.i64();
    tile.hashes = in.byte_vector();
  }
  if (!in.finished_ok()) return tl::unexpected(malformed("tile segment"));
  return tiles;
}

Bytes encode_checkpoints(const std::vector<store::StoredCheckpoint>& checkpoints) {
  ByteWriter out(kCheckpointsMagic);
  out.put_u64(checkpoints.size());
  for (const auto& checkpoint : checkpoints) {
    out.put_i64(checkpoint.size);
    out.put_string(checkpoint.note);
    out.put_i64(checkpoint.recorded_at_ms);
  }
  return out.take();
}

Result<std::vector<store::StoredCheckpoint>> decode_checkpoints(
    std::span<const std::uint8_t> bytes) {
  ByteReader in(bytes, kCheckpointsMagic);
  std::vector<store::StoredCheckpoint> checkpoints(in.count(3 * 8));
  for (auto& checkpoint : checkpoints) {
    checkpoint.size = in.i64();
    checkpoint.note = in.string();
    checkpoint.recorded_at_ms = in.i64();
  }
  if (!in.finished_ok()) return tl::unexpected(malformed("checkpoint segment"));
  return checkpoints;
}

bool ends_key_chunk(std::string_view key_name) {
  crypto::ensure_sodium();
  std::array<std::uint8_t, 8> hash{};
  crypto_generichash(hash.data(), hash.size(),
                     reinterpret_cast<const unsigned char*>(key_name.data()), key_name.size(),
                     nullptr, 0);
  std::uint64_t value = 0;
  for (auto byte : hash) value = (value << 8) | byte;
  return value % kKeysPerChunk == 0;
}

std::vector<std::string> Manifest::objects() const {
  std::vector<std::string> all;
  for (const auto* list :
       {&record_segments, &audit_segments, &tile_segments, &checkpoint_segments, &key_chunks}) {
    all.insert(all.end(), list->begin(), list->end());
  }
  return all;
}

Bytes encode_manifest(const Manifest& manifest) {
  json::array tiles;
  for (const auto count : manifest.tiles_per_level) tiles.emplace_back(count);
  const json::object object{{"format", kManifestFormat},
                            {"parent", manifest.parent},
                            {"created_at_ms", manifest.created_at_ms},
                            {"source_backend", manifest.source_backend},
                            {"records_through_sequence", manifest.records_through_sequence},
                            {"record_versions", manifest.record_versions},
                            {"audit_size", manifest.audit_size},
                            {"checkpoints_through_size", manifest.checkpoints_through_size},
                            {"tiles_per_level", std::move(tiles)},
                            {"keys", manifest.keys},
                            {"erased_keys", manifest.erased_keys},
                            {"record_segments", id_array(manifest.record_segments)},
                            {"audit_segments", id_array(manifest.audit_segments)},
                            {"tile_segments", id_array(manifest.tile_segments)},
                            {"checkpoint_segments", id_array(manifest.checkpoint_segments)},
                            {"key_chunks", id_array(manifest.key_chunks)}};
  const std::string text = json::serialize(object);
  return Bytes(text.begin(), text.end());
}

Result<Manifest> decode_manifest(std::span<const std::uint8_t> bytes) {
  boost::system::error_code error;
  const auto value = json::parse(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), error);
  if (error || !value.is_object()) return tl::unexpected(malformed("manifest"));
  const auto& object = value.as_object();
  const auto* format = object.if_contains("format");
  const auto* parent = object.if_contains("parent");
  const auto* backend = object.if_contains("source_backend");
  const auto* tiles = object.if_contains("tiles_per_level");
  if (format == nullptr || !format->is_string() || format->as_string() != kManifestFormat ||
      parent == nullptr || !parent->is_string() ||
      (!parent->as_string().empty() && !is_object_id(parent->as_string())) || backend == nullptr ||
      !backend->is_string() || tiles == nullptr || !tiles->is_array()) {
    return tl::unexpected(malformed("manifest"));
  }
  Manifest manifest;
  manifest.parent = std::string(parent->as_string());
  manifest.source_backend = std::string(backend->as_string());
  for (const auto& count : tiles->as_array()) {
    if (!count.is_int64()) return tl::unexpected(malformed("manifest"));
    manifest.tiles_per_level.push_back(count.as_int64());
  }
  ASSIGN_OR_RETURN(manifest.created_at_ms, int_field(object, "created_at_ms"));
  ASSIGN_OR_RETURN(manifest.records_through_sequence,
                   int_field(object, "records_through_sequence"));
  ASSIGN_OR_RETURN(manifest.record_versions, int_field(object, "record_versions"));
  ASSIGN_OR_RETURN(manifest.audit_size, int_field(object, "audit_size"));
  ASSIGN_OR_RETURN(manifest.checkpoints_through_size,
                   int_field(object, "checkpoints_through_size"));
  ASSIGN_OR_RETURN(manifest.keys, int_field(object, "keys"));
  ASSIGN_OR_RETURN(manifest.erased_keys, int_field(object, "erased_keys"));
  ASSIGN_OR_RETURN(manifest.record_segments, id_list(object, "record_segments"));
  ASSIGN_OR_RETURN(manifest.audit_segments, id_list(object, "audit_segments"));
  ASSIGN_OR_RETURN(manifest.tile_segments, id_list(object, "tile_segments"));
  ASSIGN_OR_RETURN(manifest.checkpoint_segments, id_list(object, "checkpoint_segments"));
  ASSIGN_OR_RETURN(manifest.key_chunks, id_list(object, "key_chunks"));
  return manifest;
}

}  // namespace kavach::backup
