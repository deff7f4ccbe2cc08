#include "store/sqlite/index_journal.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>

namespace kavach::store::sqlite {
namespace {

void put_length(Bytes& out, std::size_t length) {
  const auto value = static_cast<std::uint32_t>(length);
  for (int shift = 0; shift < 32; shift += 8)
    out.push_back(static_cast<std::uint8_t>(value >> shift));
}

// Reads a length-prefixed field at `offset`, advancing it; nullopt if the bytes end too soon.
std::optional<std::span<const std::uint8_t>> take_field(std::span<const std::uint8_t> bytes,
                                                        std::size_t& offset) {
  if (bytes.size() - offset < 4) return std::nullopt;
  std::uint32_t length = 0;
  for (int i = 0; i < 4; ++i) length |= std::uint32_t{bytes[offset + i]} << (8 * i);
  offset += 4;
  if (bytes.size() - offset < length) return std::nullopt;
  const auto field = bytes.subspan(offset, length);
  offset += length;
  return field;
}

}  // namespace

IndexEntryView view_of(const IndexEntry& entry) { return {entry.name, entry.value}; }

bool index_entry_less(const IndexEntry& a, const IndexEntry& b) {
  return std::tie(a.name, a.value) < std::tie(b.name, b.value);
}

bool entry_view_less(const IndexEntryView& a, const IndexEntryView& b) {
  if (const auto order = a.name.compare(b.name); order != 0) return order < 0;
  return std::lexicographical_compare(a.value.begin(), a.value.end(), b.value.begin(),
                                      b.value.end());
}

Bytes encode_index_entries(std::vector<IndexEntry> entries) {
  // record_index keeps a repeated entry once; so does the journal.
  std::sort(entries.begin(), entries.end(), index_entry_less);
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  Bytes out;
  for (const auto& entry : entries) {
    put_length(out, entry.name.size());
    out.insert(out.end(), entry.name.begin(), entry.name.end());
    put_length(out, entry.value.size());
    out.insert(out.end(), entry.value.begin(), entry.value.end());
  }
  return out;
}

Result<std::vector<IndexEntryView>> decode_index_entry_views(std::span<const std::uint8_t> bytes) {
  std::vector<IndexEntryView> entries;
  for (std::size_t offset = 0; offset < bytes.size();) {
    const auto name = take_field(bytes, offset);
    const auto value = name ? take_field(bytes, offset) : std::nullopt;
    if (!value) return make_error(ErrorCode::kDataLoss, "an index journal row is truncated");
    entries.push_back(IndexEntryView{
        std::string_view(reinterpret_cast<const char*>(name->data()), name->size()), *value});
  }
  return entries;
}

Result<std::vector<IndexEntry>> decode_index_entries(std::span<const std::uint8_t> bytes) {
  ASSIGN_OR_RETURN(const auto views, decode_index_entry_views(bytes));
  std::vector<IndexEntry> entries;
  entries.reserve(views.size());
  for (const auto& view : views) {
    entries.push_back(
        IndexEntry{std::string(view.name), Bytes(view.value.begin(), view.value.end())});
  }
  return entries;
}

bool index_key_less(const IndexRow& a, const IndexRow& b) {
  return std::tie(a.type, a.entry.name, a.entry.value, a.id) <
         std::tie(b.type, b.entry.name, b.entry.value, b.id);
}

namespace {

// The first 8 bytes from `offset` as a big-endian integer, zeros past the end: integers compare as
// the bytes do, up to a tie that the full comparison settles.
std::uint64_t big_endian_prefix(std::string_view bytes, std::size_t offset) {
  std::uint64_t prefix = 0;
  for (std::size_t i = offset; i < offset + 8; ++i) {
    prefix = (prefix << 8) | (i < bytes.size() ? static_cast<std::uint8_t>(bytes[i]) : 0);
  }
  return prefix;
}

// Each key's rank among the distinct keys, in byte order (as std::string and Bytes compare).
std::unordered_map<std::string_view, std::uint64_t> ranks_of(
    const std::vector<std::string_view>& keys) {
  std::unordered_map<std::string_view, std::uint64_t> ranks;
  for (const auto key : keys) ranks.emplace(key, 0);
  std::vector<std::string_view> distinct;
  distinct.reserve(ranks.size());
  for (const auto& [key, rank] : ranks) distinct.push_back(key);
  std::sort(distinct.begin(), distinct.end());
  for (std::size_t i = 0; i < distinct.size(); ++i) ranks[distinct[i]] = i;
  return ranks;
}

std::string_view as_text(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

std::vector<const MergeRow*> in_key_order(const std::vector<MergeRow>& rows) {
  // Sorting a merge's rows by comparing their four strings was a fifth of the merge, mostly in
  // memcmp: the rows largely tie on (type, name, value) (a patient's records share their subject
  // tag, many their status and category), so most comparisons went on to compare whole ids. Each
  // row gets integers instead: the ranks of its type, name and value among the merge's few distinct
  // ones (found by hashing) and the first 16 bytes of its id (a server id's creation time and first
  // random digits). Only rows equal in all of those compare their ids in full.
  std::vector<std::string_view> types, names, values;
  for (const auto& row : rows) {
    types.push_back(row.type);
    names.push_back(row.entry.name);
    values.push_back(as_text(row.entry.value));
  }
  const auto type_ranks = ranks_of(types);
  const auto name_ranks = ranks_of(names);
  const auto value_ranks = ranks_of(values);
  struct Keyed {
    std::uint64_t type_and_name;
    std::uint64_t value;
    std::uint64_t id_high;
    std::uint64_t id_low;
    const MergeRow* row;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(rows.size());
  for (const auto& row : rows) {
    keyed.push_back(Keyed{(type_ranks.at(row.type) << 32) | name_ranks.at(row.entry.name),
                          value_ranks.at(as_text(row.entry.value)), big_endian_prefix(row.id, 0),
                          big_endian_prefix(row.id, 8), &row});
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (a.type_and_name != b.type_and_name) return a.type_and_name < b.type_and_name;
    if (a.value != b.value) return a.value < b.value;
    if (a.id_high != b.id_high) return a.id_high < b.id_high;
    if (a.id_low != b.id_low) return a.id_low < b.id_low;
    return a.row->id < b.row->id;
  });
  std::vector<const MergeRow*> ordered;
  ordered.reserve(keyed.size());
  for (const auto& each : keyed) ordered.push_back(each.row);
  return ordered;
}

const IndexJournal::TypeCopy* IndexJournal::copy_of(std::string_view type) const {
  const auto found = types_.find(type);
  return found == types_.end() ? nullptr : &found->second;
}

std::int64_t IndexJournal::loaded_through(const JournalScope& scope) const {
  if (!scope) return all_loaded_through_;
  const auto* copy = copy_of(*scope);
  return std::max(all_loaded_through_, copy ? copy->loaded_through : 0);
}

IndexJournal::Fit IndexJournal::fit(const JournalState& snapshot, const JournalScope& scope) const {
  if (merged_through_ > snapshot.merged_through) return Fit::kAhead;
  if (merged_through_ < snapshot.merged_through || loaded_through(scope) < snapshot.last_sequence) {
    return Fit::kBehind;
  }
  // A copy loaded past the snapshot holds writes committed after it began: newer, never wrong.
  return Fit::kCurrent;
}

void IndexJournal::TypeCopy::forget(std::map<std::string, Held, std::less<>>::iterator held) {
  for (const auto& entry : held->second.entries) {
    const auto ids = by_value.find(ValueKey{entry.name, entry.value});
    if (ids == by_value.end()) continue;
    ids->second.erase(held->first);
    if (ids->second.empty()) by_value.erase(ids);
  }
  by_sequence.erase(held->second.sequence);
  records.erase(held);
}

void IndexJournal::drop_merged(std::int64_t merged_through) {
  for (auto& [type, copy] : types_) {
    while (!copy.by_sequence.empty() && copy.by_sequence.begin()->first <= merged_through) {
      copy.forget(copy.records.find(copy.by_sequence.begin()->second));
    }
  }
}

void IndexJournal::add(JournalRow row) {
  auto copy = types_.find(row.type);
  if (copy == types_.end()) copy = types_.emplace(std::move(row.type), TypeCopy{}).first;
  auto& [type, held_of_type] = *copy;
  if (const auto held = held_of_type.records.find(row.id); held != held_of_type.records.end()) {
    if (held->second.sequence >= row.sequence) return;  // already has this write or a later one
    held_of_type.forget(held);
  }
  for (const auto& entry : row.entries) {
    held_of_type.by_value[ValueKey{entry.name, entry.value}].insert(row.id);
  }
  held_of_type.by_sequence.emplace(row.sequence, row.id);
  held_of_type.loaded_through = std::max(held_of_type.loaded_through, row.sequence);
  held_of_type.records.emplace(
      std::move(row.id), Held{row.sequence, std::move(row.partition), std::move(row.entries)});
}

void IndexJournal::caught_up_to(const JournalState& snapshot, const JournalScope& scope) {
  merged_through_ = snapshot.merged_through;
  const auto reached =
      std::max({loaded_through(scope), snapshot.last_sequence, snapshot.merged_through});
  if (scope) {
    // Kept even with nothing held, so the next catch-up of the type starts from here.
    types_[*scope].loaded_through = reached;
  } else {
    all_loaded_through_ = reached;
  }
}

bool IndexJournal::holds(const std::string& type, const std::string& id) const {
  const auto* copy = copy_of(type);
  return copy != nullptr && copy->records.contains(id);
}

const std::vector<IndexEntry>* IndexJournal::entries(const std::string& type,
                                                     const std::string& id) const {
  const auto* copy = copy_of(type);
  if (copy == nullptr) return nullptr;
  const auto held = copy->records.find(id);
  return held == copy->records.end() ? nullptr : &held->second.entries;
}

std::vector<std::string> IndexJournal::find(const std::string& type, const std::string& name,
                                            const Bytes& value, const std::string& after_id,
                                            std::size_t limit) const {
  std::vector<std::string> ids;
  const auto* copy = copy_of(type);
  if (copy == nullptr) return ids;
  const auto found = copy->by_value.find(ValueKey{name, value});
  if (found == copy->by_value.end()) return ids;
  for (auto id = found->second.upper_bound(after_id);
       id != found->second.end() && ids.size() < limit; ++id) {
    ids.push_back(*id);
  }
  return ids;
}

std::vector<IndexRow> IndexJournal::scan(const std::optional<IndexRow>& after,
                                         std::size_t limit) const {
  std::vector<IndexRow> rows;
  for (auto copy = after ? types_.lower_bound(after->type) : types_.begin();
       copy != types_.end() && rows.size() < limit; ++copy) {
    const auto& [type, held_of_type] = *copy;
    const bool same_type = after && type == after->type;
    auto key =
        same_type
            ? held_of_type.by_value.lower_bound(ValueKey{after->entry.name, after->entry.value})
            : held_of_type.by_value.begin();
    for (; key != held_of_type.by_value.end() && rows.size() < limit; ++key) {
      const auto& [name, value] = key->first;
      const bool resumes = same_type && name == after->entry.name && value == after->entry.value;
      for (auto id = resumes ? key->second.upper_bound(after->id) : key->second.begin();
           id != key->second.end() && rows.size() < limit; ++id) {
        const auto& held = held_of_type.records.at(*id);
        rows.push_back(IndexRow{held.partition, type, *id, IndexEntry{name, value}});
      }
    }
  }
  return rows;
}

std::size_t IndexJournal::records() const {
  std::size_t held = 0;
  for (const auto& [type, copy] : types_) held += copy.records.size();
  return held;
}

}  // namespace kavach::store::sqlite
