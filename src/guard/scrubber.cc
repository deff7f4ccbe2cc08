#include "guard/scrubber.h"

#include <fmt/format.h>

#include "common/limits.h"
#include "common/log.h"

namespace kavach::guard {

Result<ScrubReport> Scrubber::step(std::size_t records) {
  ScrubReport report;
  while (report.opened + report.erased + report.failed < records) {
    const std::size_t want =
        std::min(records - (report.opened + report.erased + report.failed), limits::kPageSizeMax);
    ASSIGN_OR_RETURN(const auto page, store_.changes_since(cursor_, want));
    if (page.empty()) {
      cursor_ = 0;
      report.wrapped = true;
      break;
    }
    for (const auto& record : page) {
      cursor_ = record.sequence;
      if (record.deleted) {
        ++report.opened;
        continue;
      }
      // A digest that is not its payload's would make the audit log name other content than was
      // read, so it counts as a change beneath Kavach like a payload that fails to open.
      auto opened = vault::payload_digest_holds(record)
                        ? sealer_.open(record)
                        : Result<std::string>(make_error(ErrorCode::kDataLoss,
                                                         "its stored digest is not its payload's"));
      if (opened) {
        ++report.opened;
      } else if (opened.error().code == ErrorCode::kGone) {
        ++report.erased;
      } else {
        ++report.failed;
        const std::string what =
            fmt::format("{}/{} version {}", record.type, record.id, record.version);
        if (auto raised = alerts_.raise(
                Rule::kScrub, "", what,
                fmt::format("{} failed to open ({}): it was changed beneath Kavach; restore it "
                            "from a backup",
                            what, opened.error().message),
                false);
            !raised) {
          log::error("alert_not_stored", {{"reason", raised.error().message}});
        }
      }
    }
  }
  return report;
}

}  // namespace kavach::guard
