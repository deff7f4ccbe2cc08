#include "vault/sealed_documents.h"

#include <boost/json.hpp>

namespace kavach::vault {

Result<std::optional<Document>> SealedDocuments::read(std::string_view type, std::string_view id) {
  ASSIGN_OR_RETURN(const auto record, store_.read_current(std::string(type), std::string(id)));
  if (!record || record->deleted) return std::optional<Document>();
  ASSIGN_OR_RETURN(const std::string plaintext, sealer_.open(*record));
  boost::system::error_code parse_error;
  auto value = boost::json::parse(plaintext, parse_error);
  if (parse_error || !value.is_object()) {
    return make_error(ErrorCode::kDataLoss, "a stored " + std::string(type) + " is malformed");
  }
  Document document;
  document.type = record->type;
  document.id = record->id;
  document.partition = record->partition;
  document.version = record->version;
  document.recorded_at_ms = record->recorded_at_ms;
  document.body = std::move(value.as_object());
  return std::optional<Document>(std::move(document));
}

Result<store::IndexEntry> SealedDocuments::index_entry(std::string_view type,
                                                       const DocumentIndexValue& value) {
  if (value.plain) {
    return store::IndexEntry{value.name, store::Bytes(value.value.begin(), value.value.end())};
  }
  return sealer_.blind_index(type, value.name, value.value);
}

Result<store::RecordWrite> SealedDocuments::prepare(Document& document,
                                                    const std::vector<DocumentIndexValue>& index) {
  store::RecordWrite write;
  write.expected_version = document.version;
  write.record.partition = document.partition;
  write.record.type = document.type;
  write.record.id = document.id;
  write.record.version = document.version + 1;
  write.record.recorded_at_ms = unix_ms(clock_.now());
  RETURN_IF_ERROR(sealer_.seal(write.record, boost::json::serialize(document.body)));
  for (const auto& value : index) {
    ASSIGN_OR_RETURN(auto entry, index_entry(document.type, value));
    write.index.push_back(std::move(entry));
  }
  document.version = write.record.version;
  document.recorded_at_ms = write.record.recorded_at_ms;
  return write;
}

Status SealedDocuments::write(Document& document, const std::vector<DocumentIndexValue>& index,
                              store::WriteBatch also) {
  const std::int64_t version_before = document.version;
  auto write = prepare(document, index);
  if (!write) return tl::unexpected(write.error());
  also.records.push_back(std::move(*write));
  auto committed = store_.commit(std::move(also));
  if (!committed) {
    document.version = version_before;
    return tl::unexpected(committed.error());
  }
  return {};
}

Result<std::vector<std::string>> SealedDocuments::find(std::string_view type,
                                                       const DocumentIndexValue& value,
                                                       std::size_t limit,
                                                       std::string_view after_id) {
  store::IndexQuery query;
  query.type = std::string(type);
  ASSIGN_OR_RETURN(query.entry, index_entry(type, value));
  query.after_id = std::string(after_id);
  query.limit = limit;
  return store_.find(query);
}

Result<std::vector<Document>> SealedDocuments::find_documents(std::string_view type,
                                                              const DocumentIndexValue& value,
                                                              std::size_t limit,
                                                              std::string_view after_id) {
  ASSIGN_OR_RETURN(const auto ids, find(type, value, limit, after_id));
  std::vector<Document> documents;
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(auto document, read(type, id));
    if (document) documents.push_back(std::move(*document));
  }
  return documents;
}

}  // namespace kavach::vault
