// The expectation types Strata runs, with Great Expectations 0.18's names, kwargs and
// semantics (see docs/quality.md for the list and where Strata differs).
//
// Kinds, as GE groups them:
//   table             row and column counts, the columns' names and order
//   column map        a test of each row's value; null values are "missing": not tested, and
//                     `mostly` is the share of the non-null values that must pass (an empty or
//                     all-null column passes); expect_column_values_to_(not_)be_null test
//                     every row instead
//   column aggregate  a statistic of the column (mean, quantiles, distinct values, ...)
//                     compared with bounds or a set: the result's observed_value
//   multicolumn map   a test of each row's values of several columns (ignore_row_if says
//                     which rows are skipped)
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace strata::quality {

enum class Kind { kTable, kColumnMap, kColumnAggregate, kMulticolumnMap };

// The JSON a kwarg takes.
enum class ArgType {
  kString,
  kNumber,   // a number
  kInteger,  // a whole number
  kBool,
  kScalar,      // a string, number, boolean or null (a bound: number, date or string)
  kList,        // a list of scalars (a value set)
  kStringList,  // a list of strings (column names, patterns)
  kObject,
};

struct ArgSpec {
  const char* name;
  ArgType type;
  bool required = false;
};

struct ExpectationType {
  const char* name;
  Kind kind;
  std::vector<ArgSpec> args;  // beyond the kwargs every expectation of its kind takes
};

// Every type Strata runs, sorted by name.
const std::vector<ExpectationType>& ExpectationTypes();
const ExpectationType* FindExpectationType(std::string_view name);

// Checks kwargs against the type: known names, JSON types, required ones, and GE's own rules
// (bounds not both null, mostly in [0, 1], ...). A value {"$PARAMETER": "..."} (an evaluation
// parameter) stands for any type. Errors say which kwarg and why.
Status CheckKwargs(const ExpectationType& type, const nlohmann::json& kwargs);

// The closest known type name to `name` ("" if none is close), for "did you mean".
std::string ClosestExpectationType(std::string_view name);

}  // namespace strata::quality
