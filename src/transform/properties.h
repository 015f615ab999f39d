// Properties files (models/**/*.yml): sources, model/seed/snapshot patches (descriptions,
// columns, configs), generic test applications and unit tests — read with locations so
// errors name file:line:col.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "transform/manifest.h"

namespace strata::transform {

// One generic test applied in YAML: `- unique`, `- accepted_values: {values: [...]}`, ...
struct TestSpec {
  std::string test_name;                             // "unique", "accepted_values", "my_pkg.my_test" -> package + name
  std::string package;                               // "" for the project's or built-in tests
  std::string column_name;                           // "" for model-level tests
  nlohmann::json kwargs = nlohmann::json::object();  // arguments (values, to, field, ...)
  nlohmann::json config = nlohmann::json::object();  // severity, where, limit, ...
  std::string where;                                 // "file:line:col" for messages
};

struct Patch {
  std::string resource;  // "models", "seeds", "snapshots"
  std::string name;
  std::string file;  // relative path of the YAML file
  std::string where;
  std::string description;
  nlohmann::json columns = nlohmann::json::object();
  nlohmann::json config = nlohmann::json::object();
  nlohmann::json constraints = nlohmann::json::array();  // model-level (dbt contracts)
  std::vector<TestSpec> tests;
  // A snapshot defined in YAML (dbt 1.9): what it snapshots, "ref('x')" or "source('a', 'b')".
  std::string relation;
};

struct UnitTestSpec {
  std::string name;
  std::string model;
  std::string file;
  std::string where;
  nlohmann::json given = nlohmann::json::array();    // [{input: "ref('x')", rows: [...], format: dict|csv|sql}]
  nlohmann::json expect = nlohmann::json::object();  // {rows: [...], format}
  nlohmann::json overrides = nlohmann::json::object();
  nlohmann::json config = nlohmann::json::object();  // tags, meta, enabled
  std::string description;
  std::vector<std::string> input_ids;  // per `given`: the input's unique id, or "this" (set by the loader)
};

// An exposure: from a YAML `exposures:` entry, or one of Strata's dashboards.
struct ExposureSpec {
  std::string name;
  std::string type = "dashboard";  // dashboard | notebook | analysis | ml | application
  std::string label, description, url, maturity;
  nlohmann::json owner = nlohmann::json::object();
  nlohmann::json meta = nlohmann::json::object();
  std::vector<std::string> tags;
  std::vector<std::string> depends_on;  // expressions: "ref('fact_orders')", "source('shop', 'orders')"
  std::string file;                     // where it is defined, relative to the project (or absolute)
  std::string where;                    // file:line:col, for messages
};

struct Properties {
  std::vector<Node> sources;                                   // source nodes (unique ids filled)
  std::vector<std::pair<std::string, TestSpec>> source_tests;  // (source unique id, test)
  std::vector<Patch> patches;
  std::vector<UnitTestSpec> unit_tests;
  std::vector<ExposureSpec> exposures;
};

// Parses one YAML properties file into `out`. `project_name` names the package of sources.
Status ParseProperties(const std::string& project_name, const std::string& rel_path, const std::string& abs_path,
                       Properties* out);

}  // namespace strata::transform
