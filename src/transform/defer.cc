#include "transform/defer.h"

#include <nlohmann/json.hpp>

#include "db/duckdb.h"

namespace strata::transform {

namespace {

using nlohmann::json;

std::string StringField(const json& node, const char* key) {
  auto it = node.find(key);
  return it != node.end() && it->is_string() ? it->get<std::string>() : "";
}

// Whether the current target has the relation schema.name (a table or a view).
Result<bool> RelationExists(warehouse::Session* session, const std::string& schema, const std::string& name) {
  STRATA_ASSIGN_OR_RETURN(auto r,
                          session->Query("select count(*) from information_schema.tables where table_schema = " +
                                         duck::QuoteLiteral(schema) + " and table_name = " + duck::QuoteLiteral(name)));
  return !r.rows.empty() && !r.rows[0].empty() && r.rows[0][0].value_or("0") != "0";
}

}  // namespace

Result<std::vector<std::string>> DeferUnselected(LoadedProject* project, const std::set<std::string>& selected,
                                                 warehouse::Session* session, const DeferOptions& options) {
  std::vector<std::string> deferred;
  if (options.state == nullptr || !options.state->is_object() || !options.state->contains("nodes") ||
      !(*options.state)["nodes"].is_object()) {
    return Status::InvalidArgument("--defer: the state manifest.json has no nodes");
  }
  const json& nodes = (*options.state)["nodes"];
  std::vector<std::string> ids;
  for (const auto& [id, node] : project->manifest.nodes()) {
    if (node.type != NodeType::kModel && node.type != NodeType::kSeed && node.type != NodeType::kSnapshot) continue;
    if (node.type == NodeType::kModel && node.materialized() == "ephemeral") continue;
    if (!node.enabled() || selected.count(id) || !nodes.contains(id)) continue;
    ids.push_back(id);
  }
  for (const auto& id : ids) {
    Node* node = project->manifest.FindMutable(id);
    const json& other = nodes[id];
    std::string schema = StringField(other, "schema");
    std::string alias = StringField(other, "alias");
    if (alias.empty()) alias = StringField(other, "name");
    if (schema.empty() || alias.empty()) continue;
    const std::string own_alias = node->alias.empty() ? node->name : node->alias;
    if (schema == node->schema && alias == own_alias) continue;  // the same relation
    if (!options.favor_state) {
      if (session == nullptr) return Status::InvalidArgument("--defer needs the warehouse to check what it has");
      auto exists = RelationExists(session, node->schema, own_alias);
      if (!exists.ok()) return exists.status().WithContext("--defer: checking " + node->schema + "." + own_alias);
      if (*exists) continue;
    }
    node->database = StringField(other, "database");
    node->schema = schema;
    node->alias = alias;
    deferred.push_back(id);
  }
  return deferred;
}

}  // namespace strata::transform
