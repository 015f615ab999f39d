// Expectation suites in Great Expectations 0.18's JSON format, so that a team's existing
// suites (a GE project's gx/expectations/*.json) run unchanged:
//
//   {"expectation_suite_name": "orders",
//    "expectations": [
//      {"expectation_type": "expect_column_values_to_not_be_null",
//       "kwargs": {"column": "order_id"},
//       "meta": {"notes": "...", "severity": "warn"}}],
//    "meta": {"great_expectations_version": "0.18.12"}}
//
// Every expectation is checked when the suite loads: its type must be one Strata runs
// (quality/expectations.h) and its kwargs those the type takes, with the right JSON types;
// errors name the file, line and column of the expectation. `meta.severity` ("error", the
// default, or "warn") is Strata's: a failing error-severity expectation blocks a publish.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace strata::quality {

enum class Severity { kError, kWarn };

struct Expectation {
  std::string type;       // expectation_type
  nlohmann::json kwargs;  // as written; {"$PARAMETER": ...} values are resolved when validating
  nlohmann::json meta = nlohmann::json::object();
  Severity severity = Severity::kError;
  std::string where;  // file:line:col, for messages

  // GE's expectation_config: {"expectation_type", "kwargs", "meta"}.
  nlohmann::json Config() const;
};

struct Suite {
  std::string name;  // expectation_suite_name
  std::string file;
  std::vector<Expectation> expectations;
  nlohmann::json meta = nlohmann::json::object();
};

// Parses a suite; `file` names it in errors. Unknown expectation types and bad kwargs are
// kInvalidArgument at file:line:col.
Result<Suite> ParseSuite(std::string_view text, const std::string& file);
Result<Suite> LoadSuite(const std::string& path);
// The suite as GE 0.18 writes it.
nlohmann::json SuiteJson(const Suite& suite);

// "file:line:col" of byte `offset` of `text`.
std::string PositionOf(std::string_view text, size_t offset, const std::string& file);

}  // namespace strata::quality
