// Runs an expectation suite on one batch of a warehouse relation and answers in Great
// Expectations 0.18's ExpectationSuiteValidationResult JSON.
//
// Fast by construction: every count and statistic of every expectation on the relation is one
// aggregate in a single scan (`count(*) FILTER (WHERE ...)`, per-expectation row conditions
// included), pushed down into the engine; the few metrics that need grouping (uniqueness, most
// common values, distinct values, order) are one query each; the table's columns come from a
// query that reads no rows. Values are never pulled into Strata, except samples of the
// unexpected ones, fetched only for failing expectations and bounded by the result format.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "quality/suite.h"

namespace strata::warehouse {
class Session;
}

namespace strata::quality {

struct Batch {
  std::string relation;  // "schema.table" or "table" (names are quoted by the validator)
  std::string query;     // instead of a relation: a SELECT whose rows are the batch (GE's runtime query)
  std::string filter;    // SQL selecting the batch's rows (the run's partition); "" = all rows
  // For the result's meta (active_batch_definition): what GE calls the data source and asset.
  std::string datasource = "warehouse";
};

struct ValidateOptions {
  // The result format of expectations that do not give one: a name or GE's dict form.
  nlohmann::json result_format = "BASIC";
  // Values for {"$PARAMETER": "name"} kwargs (numbers, strings, or simple arithmetic on
  // them: "min_rows * 0.9").
  std::map<std::string, nlohmann::json> evaluation_parameters;
  std::string run_name;  // default: the run time
  std::string run_time;  // ISO 8601; default: now
  std::string checkpoint_name;
  // false: the first expectation that cannot run stops the validation with its error; true
  // (GE's default): it fails with exception_info and the others still run.
  bool catch_exceptions = true;
};

// What it cost, for logs and benchmarks.
struct ValidateStats {
  int queries = 0;  // statements sent to the warehouse
  double seconds = 0;
};

// Validates `batch` against `suite` on `session`. Errors only for what stops everything (the
// relation does not exist, the warehouse is gone, or catch_exceptions is false); a failing
// expectation is a result.
Result<nlohmann::json> Validate(warehouse::Session* session, const Suite& suite, const Batch& batch,
                                const ValidateOptions& options, ValidateStats* stats = nullptr);

// "schema.table" with each part quoted (parts already in quotes stay as they are).
std::string QuoteRelation(const std::string& relation);

// The SQL predicate of a GE row_condition ("great_expectations__experimental__": col("a")>5,
// "pandas": a > 5 and b == "x", "sql": as written), with names quoted for `engine`.
Result<std::string> RowConditionSql(const std::string& condition, const std::string& parser, const std::string& engine);

}  // namespace strata::quality
