// Checkpoints in Great Expectations 0.18's YAML shape: which suites validate which relations,
// and what happens with the results.
//
//   # quality/checkpoints/marts.yml
//   name: marts
//   config_version: 1.0
//   class_name: Checkpoint
//   run_name_template: "%Y%m%d-marts"
//   evaluation_parameters: {min_orders: 10}
//   runtime_configuration: {result_format: SUMMARY}
//   action_list:
//     - {name: store_validation_result, action: {class_name: StoreValidationResultAction}}
//     - {name: update_data_docs, action: {class_name: UpdateDataDocsAction}}
//   validations:
//     - batch_request:
//         datasource_name: warehouse
//         data_asset_name: fact_orders      # a dbt model (its built relation) or schema.table
//         row_condition: "cast(placed_at as date) = '{{ ds }}'"   # Strata: the batch's rows
//       expectation_suite_name: fact_orders.critical
//     - batch_request:                        # GE's runtime batch: the rows of a query
//         data_asset_name: order_totals
//         runtime_parameters: {query: "select ... from {{ ref('fact_orders') }}"}
//       expectation_suite_name: order_totals
//
// The run's names ({{ ds }}, {{ run_id }}, ...) are expanded in row conditions and queries,
// and are evaluation parameters too ({"$PARAMETER": "ds"}); {{ ref('model') }} in a query is
// the model's built relation.
//
// Suites and checkpoints live in the project's `quality/` folder (expectations/,
// checkpoints/), or in a GE project's `gx/` folder unchanged. A suite named "a.b" is
// expectations/a/b.json, as GE stores it (expectations/a.b.json is found too). Validation
// results are stored as GE does: <state_dir>/quality/validations/<suite path>/<run name>/
// <run time>/<asset>.json.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/project.h"
#include "core/status.h"
#include "quality/suite.h"

namespace strata::warehouse {
class Session;
}

namespace strata::quality {

struct CheckpointValidation {
  std::string asset;          // data_asset_name
  std::string row_condition;  // SQL; {{ ds }} and the run's other names are expanded
  std::string query;          // runtime_parameters.query: the batch is this SELECT's rows (expanded too)
  std::string suite;          // expectation_suite_name
  std::string where;          // file:line:col
};

struct Checkpoint {
  std::string name;
  std::string file;
  std::string run_name_template;
  std::vector<CheckpointValidation> validations;
  nlohmann::json result_format = "SUMMARY";
  std::map<std::string, nlohmann::json> evaluation_parameters;
  bool store_results = true;  // StoreValidationResultAction
  bool update_docs = true;    // UpdateDataDocsAction
};

Result<Checkpoint> LoadCheckpoint(const std::string& path);

// Where a project keeps its suites and checkpoints, and where results go.
struct QualityPaths {
  std::string expectations;  // <project>/quality/expectations or <project>/gx/expectations
  std::string checkpoints;
  std::string validations;  // <state_dir>/quality/validations
  std::string docs;         // <state_dir>/quality/docs
};
QualityPaths PathsOf(const Project& project);
// The file of suite `name` (kNotFound naming where it looked).
Result<std::string> SuiteFile(const QualityPaths& paths, const std::string& name);
Result<std::string> CheckpointFile(const QualityPaths& paths, const std::string& name);
// The checkpoints named, loaded (the first error stops).
Result<std::vector<Checkpoint>> LoadCheckpoints(const QualityPaths& paths, const std::vector<std::string>& names);
// Every checkpoint's name, sorted.
std::vector<std::string> CheckpointNames(const QualityPaths& paths);

struct CheckpointOptions {
  // The run's names for {{ ds }} etc. in row conditions (orchestrate's RunIdentity).
  std::vector<std::pair<std::string, std::string>> run_names;
  std::string run_name;  // default: run_name_template on the run time, or the run time
  std::string run_time;  // ISO 8601; default now
  // A data asset's relation: a dbt model's built relation when the resolver knows it; empty
  // answer: the asset is taken as a relation name.
  std::function<std::string(const std::string& asset)> resolve;
  bool store = true;  // also subject to the checkpoint's action_list
};

struct CheckpointResult {
  std::string name;
  std::string run_name, run_time;
  std::vector<nlohmann::json> validations;  // ExpectationSuiteValidationResult, one per validation
  std::vector<std::string> stored;          // the files written
  std::string docs;                         // the data docs' index page, when updated (quality/docs.h)
  int evaluated = 0, successful = 0;
  int blocking = 0;  // failed error-severity expectations (or expectations that could not run)
  int warnings = 0;  // failed warn-severity expectations
  bool success() const { return blocking == 0; }
  // GE's CheckpointResult-like summary, for the run history and --json.
  nlohmann::json ToJson() const;
};

// Runs every validation of `checkpoint` on `session`. Errors only when a suite or relation
// cannot be read at all; failing expectations are results.
Result<CheckpointResult> RunCheckpoint(warehouse::Session* session, const Checkpoint& checkpoint,
                                       const QualityPaths& paths, const CheckpointOptions& options);

// Counts of a validation result: (blocking failures, warn failures).
std::pair<int, int> Failures(const nlohmann::json& validation);

}  // namespace strata::quality
