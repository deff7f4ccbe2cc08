// A JSON view of an audit entry, for `kavach audit export`, the auditor's API and the patient's
// access list. Empty fields are left out; times are RFC 3339 in UTC; hashes are hex.
// Thread-safety: a stateless function.
#pragma once

#include <boost/json/object.hpp>

#include "audit/audit_entry.h"

namespace kavach::audit {

boost::json::object entry_json(const AuditEntry& entry);

}  // namespace kavach::audit
