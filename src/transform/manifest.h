// Manifest: every node of a dbt-style project after parsing — models, seeds, snapshots,
// tests, sources, unit tests — with resolved configs and dependencies.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "transform/graph.h"

namespace strata::transform {

// Exposures are what reads the project from outside (dbt's exposures, and Strata's
// dashboards): they depend on models and are never run.
enum class NodeType { kModel, kSeed, kSnapshot, kTest, kSource, kUnitTest, kExposure };

const char* NodeTypeName(NodeType type);  // "model", "seed", ... as in dbt's unique ids

struct Node {
  NodeType type = NodeType::kModel;
  std::string unique_id;         // "model.shop.stg_orders", "source.shop.shopdb.orders"
  std::string name;              // "stg_orders"
  std::string package;           // the project name
  std::string path;              // file path relative to the project root ("models/staging/stg_orders.sql")
  std::vector<std::string> fqn;  // ["shop", "staging", "stg_orders"]
  std::string raw_code;          // the file's text (SQL with Jinja); empty for seeds, as in dbt's manifest
  std::string seed_path;         // seeds: the CSV file's path (the project root's absolute path + `path`)
  nlohmann::json config = nlohmann::json::object();  // resolved: folder < YAML < in-file config()
  std::vector<std::string> tags;
  std::vector<std::string> depends_on;  // unique ids of parents (refs, sources, macros excluded)
  std::string description;
  nlohmann::json columns = nlohmann::json::object();     // name -> {description, data_type, constraints, index, ...}
  nlohmann::json constraints = nlohmann::json::array();  // model-level constraints (contracts)
  nlohmann::json meta = nlohmann::json::object();

  // Where it lives in the warehouse (models, seeds, snapshots, sources).
  std::string database;
  std::string schema;
  std::string alias;  // identifier

  // Tests: the tested node and column, and the generic test's name and arguments.
  std::string attached_node;
  std::string column_name;
  std::string test_name;  // "unique", "not_null", "accepted_values", custom generic test name, or "" for singular
  nlohmann::json test_kwargs = nlohmann::json::object();

  std::string Relation() const;  // "schema"."alias" (quoted)
  bool enabled() const { return config.value("enabled", true); }
  std::string materialized() const { return config.value("materialized", std::string("view")); }
};

class Manifest {
 public:
  // Takes ownership; kAlreadyExists if the unique id is taken (dbt's duplicate node error).
  Status Add(Node node);
  const Node* Find(const std::string& unique_id) const;
  Node* FindMutable(const std::string& unique_id);
  // The model/seed/snapshot named `name`: in `package` if given (ref's two-argument form); else
  // (the one-argument form) as dbt resolves it from a node of the package `from`: in the root
  // project first, then in `from`, then in any package.
  const Node* FindRefable(const std::string& name, const std::string& package = "", const std::string& from = "") const;
  // The root project's name (its nodes win one-argument refs).
  void set_root_package(std::string name) { root_package_ = std::move(name); }
  const std::string& root_package() const { return root_package_; }
  const Node* FindSource(const std::string& source, const std::string& table) const;
  const std::map<std::string, Node>& nodes() const { return nodes_; }

  // Names of refable nodes and sources, for "did you mean" messages.
  std::vector<std::string> RefableNames() const;
  std::vector<std::string> SourceNames() const;

  // The DAG over enabled nodes (tests and unit tests are children of what they test).
  Result<Graph> BuildGraph() const;

 private:
  std::map<std::string, Node> nodes_;
  std::string root_package_;
  // Unique ids by name, so that resolving refs is not a scan of every node.
  std::unordered_map<std::string, std::vector<std::string>> refable_by_name_;
  std::unordered_map<std::string, std::string> source_by_name_;  // "source\0table"
};

}  // namespace strata::transform
