// ResourceService's search: candidates from the blind index, each opened and checked exactly
// (search_match.h) unless the index alone decides the match, consent enforced record by record,
// every returned record logged.
#include <algorithm>
#include <charconv>
#include <set>
#include <span>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/limits.h"
#include "fhir/resource_service.h"
#include "fhir/resource_types.h"
#include "fhir/search_match.h"

namespace kavach::fhir {
namespace {

namespace json = boost::json;

// A chained parameter may select at most this many referenced records.
constexpr std::size_t kChainMatchesMax = 1000;
// A sorted search orders at most this many matches; narrower criteria are needed beyond.
constexpr std::size_t kSortedMatchesMax = 10'000;
// Totals are counted up to this many matches, and left out above.
constexpr std::size_t kCountedMatchesMax = 100'000;
// Records added by _include and _revinclude to one page.
constexpr std::size_t kIncludedMax = 1000;
// Candidates read from the store at once: a default page of 20 and the match after it.
constexpr std::size_t kCandidatesPerRead = 32;
// About what a parsed resource takes in memory for each byte of its JSON.
constexpr std::size_t kParsedBytesPerJsonByte = 4;

// Candidate sources by preference: a reference (one patient's records) is usually the most
// selective, then tokens, strings, and date buckets last.
int selectivity_rank(ParameterKind kind) {
  switch (kind) {
    case ParameterKind::kReference:
      return 0;
    case ParameterKind::kToken:
    case ParameterKind::kPhone:
      return 1;
    case ParameterKind::kString:
      return 2;
    case ParameterKind::kDate:
      return 3;
  }
  return 4;
}

bool names_patient(const SearchQuery& query) {
  if (query.type == "Patient") return true;
  return std::any_of(query.predicates.begin(), query.predicates.end(), [](const auto& predicate) {
    const auto name = predicate.parameter->name;
    return name == "patient" || name == "subject" || name == "_id";
  });
}

// A sorted page's cursor: the sort key and id of the last record given ("k<key>.<id>", or
// "m.<id>" for a record without a value).
struct SortPosition {
  std::optional<std::int64_t> key;
  std::string id;
};

std::string format_sort_cursor(const SortPosition& position) {
  return position.key ? fmt::format("k{}.{}", *position.key, position.id)
                      : fmt::format("m.{}", position.id);
}

std::optional<SortPosition> parse_sort_cursor(std::string_view cursor) {
  const auto dot = cursor.find('.');
  if (cursor.empty() || dot == std::string_view::npos) return std::nullopt;
  SortPosition position;
  position.id = std::string(cursor.substr(dot + 1));
  if (!is_valid_id(position.id)) return std::nullopt;
  if (cursor.front() == 'm' && dot == 1) return position;
  if (cursor.front() != 'k') return std::nullopt;
  std::int64_t key = 0;
  const auto text = cursor.substr(1, dot - 1);
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), key);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  position.key = key;
  return position;
}

// Sort order: by key (records without one last), then by id.
bool sorts_before(const SortPosition& a, const SortPosition& b, bool descending) {
  if (a.key.has_value() != b.key.has_value()) return a.key.has_value();
  if (a.key && *a.key != *b.key) return descending ? *a.key > *b.key : *a.key < *b.key;
  return a.id < b.id;
}

}  // namespace

Result<ResourceService::CandidateSource> ResourceService::candidate_source(
    std::string_view type, const std::vector<SearchPredicate>& predicates) {
  CandidateSource source;
  source.type = std::string(type);
  for (const auto& predicate : predicates) {
    if (predicate.parameter == &kIdParameter && predicate.modifier == SearchModifier::kNone) {
      source.kind = CandidateSource::Kind::kIds;
      for (const auto& value : predicate.values) source.ids.push_back(value.text);
      std::sort(source.ids.begin(), source.ids.end());
      source.ids.erase(std::unique(source.ids.begin(), source.ids.end()), source.ids.end());
      return source;
    }
  }
  const SearchPredicate* best = nullptr;
  std::vector<std::string> best_values;
  for (const auto& predicate : predicates) {
    // The record's own time, not an index entry (Store::find_recorded).
    if (predicate.parameter == &kLastUpdatedParameter) {
      if (const auto range = recorded_range(predicate)) {
        source.recorded.from_ms = std::max(source.recorded.from_ms, range->from_ms);
        source.recorded.to_ms = std::min(source.recorded.to_ms, range->to_ms);
      }
      continue;
    }
    auto values = candidate_index_values(predicate);
    if (!values) continue;
    if (best == nullptr ||
        selectivity_rank(predicate.parameter->kind) < selectivity_rank(best->parameter->kind)) {
      best = &predicate;
      best_values = std::move(*values);
    }
  }
  // With no indexed parameter (none at all, or only _lastUpdated, :missing, :not, ne), the
  // records of the type written within the _lastUpdated range, or ever, are the candidates.
  if (best == nullptr) return source;
  source.kind = CandidateSource::Kind::kIndex;
  source.name = std::string(index_name(*best->parameter));
  // A reference's index value is the normalised "Type/id" that matches() compares, taken from the
  // same element, so equal index values are a match. Not so for a parameter indexed under
  // another's name (patient, under subject, takes only references to a Patient), nor for strings
  // and dates (prefixes and buckets), nor for tokens (a bare code stands for every system).
  source.exact = predicates.size() == 1 && is_exact_reference(*best);
  for (const auto& value : best_values) {
    ASSIGN_OR_RETURN(auto entry, sealer_.blind_index(type, source.name, value));
    source.values.push_back(std::move(entry.value));
  }
  return source;
}

Result<store::IndexMatches> ResourceService::next_candidates(const CandidateSource& source,
                                                             const std::string& after,
                                                             std::size_t limit) {
  store::IndexMatches candidates;
  switch (source.kind) {
    case CandidateSource::Kind::kIndex:
      return store_.find_any(source.type, source.name, source.values, after, limit);
    case CandidateSource::Kind::kRecorded: {
      if (source.recorded.from_ms >= source.recorded.to_ms) return candidates;
      ASSIGN_OR_RETURN(candidates.ids,
                       store_.find_recorded(source.type, source.recorded, after, limit));
      return candidates;
    }
    case CandidateSource::Kind::kIds:
      break;
  }
  for (auto it = std::upper_bound(source.ids.begin(), source.ids.end(), after);
       it != source.ids.end() && candidates.ids.size() < limit; ++it) {
    candidates.ids.push_back(*it);
  }
  return candidates;
}

Result<std::optional<ResourceService::SearchMatch>> ResourceService::check_candidate(
    store::RecordVersion record, const std::vector<SearchPredicate>& predicates,
    const RecordGrant* grant, vault::OpenedKeys& opened, bool matched_by_index) {
  if (record.deleted) return std::nullopt;
  ASSIGN_OR_RETURN(auto resource, open(record, opened));
  // Parsing the record to check it again was about a tenth of a search by subject.
  if (matched_by_index && grant == nullptr) {
    return SearchMatch{std::move(record), std::move(resource), json::object{}};
  }
  // The tree lives in a few blocks of its own, freed together with the match, rather than in an
  // allocation per value: a search opens and drops many candidates, and per-value malloc and free
  // took about a sixth of its time.
  const json::storage_ptr storage = json::make_shared_resource<json::monotonic_resource>(
      kParsedBytesPerJsonByte * resource.json.size());
  boost::system::error_code error;
  auto parsed = json::parse(resource.json, error, storage);
  if (error || !parsed.is_object()) {
    return make_error(ErrorCode::kDataLoss, "a stored resource is not a JSON object");
  }
  auto& object = parsed.as_object();
  for (const auto& predicate : predicates) {
    if (!matches(predicate, object)) return std::nullopt;
  }
  if (grant != nullptr) {
    if (gate_ == nullptr) return std::nullopt;
    ASSIGN_OR_RETURN(const bool allowed, gate_->allows(*grant, record, object));
    if (!allowed) return std::nullopt;
  }
  return SearchMatch{std::move(record), std::move(resource), std::move(object)};
}

Status ResourceService::scan_matches(std::string_view type,
                                     const std::vector<SearchPredicate>& predicates,
                                     const RecordGrant* grant, std::string after,
                                     std::size_t expected, MatchDetail detail,
                                     const std::function<bool(SearchMatch&&)>& visit) {
  ASSIGN_OR_RETURN(const auto source, candidate_source(type, predicates));
  vault::OpenedKeys opened;
  // The index decides for the versions it was read for: the records are read after it, and one
  // written in between (a higher sequence) may no longer match, so that one is checked.
  const bool index_decides = source.exact && grant == nullptr && detail == MatchDetail::kRecord;
  // Candidates are asked for as many as the visit expects to take (at most a read's worth)
  // first, then twice as many each time up to a page of the store's: most searches stop after a
  // page of 20 and one more match, and looking up or reading candidates a search does not take
  // was a sixth of its time.
  std::size_t wanted = expected == 0 ? kCandidatesPerRead : std::min(expected, kCandidatesPerRead);
  for (;;) {
    ASSIGN_OR_RETURN(const auto candidates, next_candidates(source, after, wanted));
    const auto& ids = candidates.ids;
    const std::int64_t as_of = candidates.as_of_sequence;
    if (ids.empty()) return {};
    after = ids.back();
    // Read a few candidates at a time: enough for a page in one read, while a visit that stops
    // early leaves most of a long candidate list unread.
    for (std::size_t begin = 0; begin < ids.size(); begin += kCandidatesPerRead) {
      const auto chunk =
          std::span(ids).subspan(begin, std::min(kCandidatesPerRead, ids.size() - begin));
      ASSIGN_OR_RETURN(auto records, store_.read_current_many(source.type, chunk));
      for (auto& record : records) {
        const bool matched_by_index = index_decides && as_of > 0 && record.sequence <= as_of;
        ASSIGN_OR_RETURN(auto match, check_candidate(std::move(record), predicates, grant, opened,
                                                     matched_by_index));
        if (match && !visit(std::move(*match))) return {};
      }
    }
    if (ids.size() < wanted) return {};
    wanted = std::min(wanted * 2, limits::kPageSizeMax);
  }
}

Result<std::vector<SearchPredicate>> ResourceService::resolve_chains(
    const auth::AccessToken& caller, const SearchQuery& query, const RecordGrant* grant) {
  std::vector<SearchPredicate> resolved;
  for (const auto& predicate : query.predicates) {
    if (predicate.chain.empty()) {
      resolved.push_back(predicate);
      continue;
    }
    const auto& target = predicate.target_type;
    // Under a consent the chained records are looked at but never returned; the records that
    // are returned pass the gate as always.
    if (grant == nullptr) {
      RETURN_IF_ERROR(authorise(caller, target, "", auth::Interaction::kSearch,
                                audit::Action::kRecordSearch, "search"));
    }
    SearchPredicate references = predicate;
    references.chain.clear();
    references.values.clear();
    bool too_many = false;
    RETURN_IF_ERROR(scan_matches(
        target, predicate.chain, nullptr, "", 0, MatchDetail::kRecord, [&](SearchMatch&& match) {
          if (references.values.size() == kChainMatchesMax) {
            too_many = true;
            return false;
          }
          references.values.push_back(
              SearchValue{target + "/" + match.record.id, DateComparator::kEq, DateRange{}});
          return true;
        }));
    if (too_many) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("{} matches more than {} {} records; narrow it", predicate.name,
                                    kChainMatchesMax, target));
    }
    resolved.push_back(std::move(references));
  }
  return resolved;
}

Status ResourceService::page_in_id_order(const SearchQuery& query,
                                         const std::vector<SearchPredicate>& predicates,
                                         const RecordGrant* grant, SearchResult& result,
                                         std::vector<SearchMatch>& page) {
  if (!query.cursor.empty() && !is_valid_id(query.cursor)) {
    return make_error(ErrorCode::kInvalidArgument, "a bad _cursor");
  }
  const std::size_t count = std::max<std::size_t>(query.count, 1);
  // One scan serves both the page and the total: with a total it starts at the beginning and
  // counts every match, filling the page from the first match after the cursor.
  const bool counting = query.total || query.summary_count;
  std::size_t total = 0;
  bool page_done = query.summary_count;
  // Without a total the scan takes a page and one match more, which says there is a next page.
  // _include follows the references in each match, so it needs them parsed.
  const auto detail = query.includes.empty() ? MatchDetail::kRecord : MatchDetail::kParsed;
  RETURN_IF_ERROR(scan_matches(query.type, predicates, grant, counting ? "" : query.cursor,
                               counting ? 0 : count + 1, detail, [&](SearchMatch&& match) {
                                 if (counting && total <= kCountedMatchesMax) ++total;
                                 if (!page_done && match.record.id > query.cursor) {
                                   if (page.size() == count) {
                                     result.next_cursor = page.back().record.id;
                                     page_done = true;
                                   } else {
                                     page.push_back(std::move(match));
                                   }
                                 }
                                 return !page_done || (counting && total <= kCountedMatchesMax);
                               }));
  if (counting && total <= kCountedMatchesMax) result.total = total;
  return {};
}

Status ResourceService::page_sorted(const SearchQuery& query,
                                    const std::vector<SearchPredicate>& predicates,
                                    const RecordGrant* grant, SearchResult& result,
                                    std::vector<SearchMatch>& page) {
  std::optional<SortPosition> after;
  if (!query.cursor.empty()) {
    after = parse_sort_cursor(query.cursor);
    if (!after) return make_error(ErrorCode::kInvalidArgument, "a bad _cursor");
  }
  const auto& sort = *query.sort;
  std::vector<SortPosition> positions;
  bool too_many = false;
  RETURN_IF_ERROR(scan_matches(
      query.type, predicates, grant, "", 0, MatchDetail::kParsed, [&](SearchMatch&& match) {
        if (positions.size() == kSortedMatchesMax) {
          too_many = true;
          return false;
        }
        const auto key = sort.parameter == &kLastUpdatedParameter
                             ? std::optional<std::int64_t>(match.resource.last_updated_ms)
                             : sort_key(sort, match.object);
        positions.push_back(SortPosition{key, match.record.id});
        return true;
      }));
  if (too_many) {
    return make_error(
        ErrorCode::kInvalidArgument,
        fmt::format("more than {} records match; narrow the search to sort it", kSortedMatchesMax));
  }
  const auto before = [&sort](const SortPosition& a, const SortPosition& b) {
    return sorts_before(a, b, sort.descending);
  };
  std::sort(positions.begin(), positions.end(), before);
  if (query.total || query.summary_count) result.total = positions.size();
  if (query.summary_count) return {};
  auto it = after ? std::upper_bound(positions.begin(), positions.end(), *after, before)
                  : positions.begin();
  const std::size_t count = std::max<std::size_t>(query.count, 1);
  vault::OpenedKeys opened;
  while (it != positions.end() && page.size() < count) {
    // Read again: only the ids were kept while sorting. A record changed since is checked again.
    std::vector<std::string> ids;
    for (; it != positions.end() && ids.size() < count - page.size(); ++it) ids.push_back(it->id);
    ASSIGN_OR_RETURN(auto records, store_.read_current_many(query.type, ids));
    for (auto& record : records) {
      ASSIGN_OR_RETURN(auto match, check_candidate(std::move(record), predicates, grant, opened));
      if (match) page.push_back(std::move(*match));
    }
  }
  if (it != positions.end() && it != positions.begin()) {
    result.next_cursor = format_sort_cursor(*std::prev(it));
  }
  return {};
}

Status ResourceService::add_includes(const auth::AccessToken& caller, const SearchQuery& query,
                                     const RecordGrant* grant, const std::vector<SearchMatch>& page,
                                     SearchResult& result,
                                     std::vector<audit::AuditEntry>& accesses) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& match : page) seen.emplace(match.record.type, match.record.id);
  vault::OpenedKeys opened;
  // A record joins the page once, when the caller may read it: by scope, or under a consent by
  // the gate. Records the caller may not read are left out without a word.
  const auto add = [&](const store::RecordVersion& record) -> Status {
    if (result.included.size() == kIncludedMax || !seen.emplace(record.type, record.id).second) {
      return {};
    }
    if (grant == nullptr && !caller.scopes.allows(record.type, auth::Interaction::kRead)) return {};
    ASSIGN_OR_RETURN(auto match, check_candidate(record, {}, grant, opened));
    if (!match) return {};
    accesses.push_back(access_entry(caller, audit::Action::kRecordSearch, grant, record));
    result.included.push_back(std::move(match->resource));
    return {};
  };
  for (const auto& include : query.includes) {
    for (const auto& match : page) {
      for (const auto& reference : references_of(*include.parameter, match.object)) {
        const auto slash = reference.find('/');
        const auto type = reference.substr(0, slash);
        if (!include.target_type.empty() && type != include.target_type) continue;
        if (!is_supported_type(type)) continue;
        ASSIGN_OR_RETURN(const auto record, store_.read_current(type, reference.substr(slash + 1)));
        if (record) RETURN_IF_ERROR(add(*record));
      }
    }
  }
  for (const auto& include : query.revincludes) {
    if (grant == nullptr &&
        !caller.scopes.allows(include.source_type, auth::Interaction::kSearch)) {
      continue;
    }
    for (const auto& match : page) {
      const auto reference = fmt::format("{}/{}", query.type, match.record.id);
      ASSIGN_OR_RETURN(auto entry, sealer_.blind_index(include.source_type,
                                                       index_name(*include.parameter), reference));
      ASSIGN_OR_RETURN(
          const auto ids,
          store_.find(store::IndexQuery{include.source_type, std::move(entry), "", kIncludedMax}));
      for (const auto& id : ids) {
        ASSIGN_OR_RETURN(const auto record, store_.read_current(include.source_type, id));
        if (record) RETURN_IF_ERROR(add(*record));
      }
    }
  }
  return {};
}

Result<SearchResult> ResourceService::search(const auth::AccessToken& caller,
                                             const SearchQuery& query) {
  if (!is_supported_type(query.type)) {
    return make_error(ErrorCode::kNotFound,
                      fmt::format("this server does not store {}", query.type));
  }
  ASSIGN_OR_RETURN(const auto grant,
                   consent_grant(caller, audit::Action::kRecordSearch, query.type, ""));
  if (!grant) {
    RETURN_IF_ERROR(authorise(caller, query.type, "", auth::Interaction::kSearch,
                              audit::Action::kRecordSearch, "search"));
  } else if (!names_patient(query)) {
    // A consent covers one patient; naming them also bounds the records examined to theirs.
    return make_error(ErrorCode::kInvalidArgument,
                      "a search under a consent names the patient (patient=, subject= or _id=)");
  }
  SearchResult result;
  std::vector<audit::AuditEntry> accesses;
  {
    // The index, the patients' keys and the records in one read snapshot (Store::hold_reads):
    // with a read transaction for each, searches by subject were about a sixth slower.
    const auto reads = store_.hold_reads();
    ASSIGN_OR_RETURN(const auto predicates, resolve_chains(caller, query, grant.get()));
    std::vector<SearchMatch> page;
    if (query.sort) {
      RETURN_IF_ERROR(page_sorted(query, predicates, grant.get(), result, page));
    } else {
      RETURN_IF_ERROR(page_in_id_order(query, predicates, grant.get(), result, page));
    }
    for (const auto& match : page) {
      accesses.push_back(
          access_entry(caller, audit::Action::kRecordSearch, grant.get(), match.record));
    }
    RETURN_IF_ERROR(add_includes(caller, query, grant.get(), page, result, accesses));
    for (auto& match : page) result.matches.push_back(std::move(match.resource));
  }
  if (accesses.empty()) {
    // Nothing returned (or only a count): the search itself is on record.
    auto entry = entry_for(caller, audit::Action::kRecordSearch, grant.get());
    entry.resource_type = query.type;
    accesses.push_back(std::move(entry));
  }
  // Every entry durable before the page is returned: one per patient, listing their records.
  RETURN_IF_ERROR(audit::record_entries(store_, audit::fold_records(std::move(accesses))));
  return result;
}

Result<SearchPage> ResourceService::search(const auth::AccessToken& caller,
                                           const SearchRequest& request) {
  ASSIGN_OR_RETURN(auto query, parse_search_query(request.type, request.parameters));
  query.count = std::clamp<std::size_t>(request.count, 1, limits::kPageSizeMax);
  query.cursor = request.after_id;
  ASSIGN_OR_RETURN(auto result, search(caller, query));
  return SearchPage{std::move(result.matches), std::move(result.next_cursor)};
}

}  // namespace kavach::fhir
