// A starter suite from the data: `strata quality profile R` looks at a relation once and
// writes the expectations that hold today, for a first suite in minutes (then edit it):
//
//   the table     its row count (within half and twice today's) and its columns, in order
//   each column   its type; not null (or `mostly` at today's non-null share); unique when
//                 every value is; numbers and dates between today's min and max; text lengths
//                 between today's shortest and longest; a value set when a column has at most
//                 `max_set` distinct values
//
// Every statistic comes from one aggregate scan, plus one query per low-cardinality column
// for its values.
#pragma once

#include <string>

#include "core/status.h"
#include "quality/suite.h"

namespace strata::warehouse {
class Session;
}

namespace strata::quality {

struct ProfileOptions {
  std::string suite_name;  // default: the relation's name
  int max_set = 20;        // columns with at most this many distinct values get a value set
};

Result<Suite> Profile(warehouse::Session* session, const std::string& relation, const ProfileOptions& options);

}  // namespace strata::quality
