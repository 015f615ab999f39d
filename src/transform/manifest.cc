#include "transform/manifest.h"

#include "core/config.h"

namespace strata::transform {

const char* NodeTypeName(NodeType type) {
  switch (type) {
    case NodeType::kModel:
      return "model";
    case NodeType::kSeed:
      return "seed";
    case NodeType::kSnapshot:
      return "snapshot";
    case NodeType::kTest:
      return "test";
    case NodeType::kSource:
      return "source";
    case NodeType::kUnitTest:
      return "unit_test";
    case NodeType::kExposure:
      return "exposure";
  }
  return "unknown";
}

namespace {
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}
}  // namespace

std::string Node::Relation() const {
  std::string rel;
  if (!database.empty()) rel = Quote(database) + ".";
  return rel + Quote(schema) + "." + Quote(alias.empty() ? name : alias);
}

Status Manifest::Add(Node node) {
  std::string id = node.unique_id;
  auto it = nodes_.find(id);
  if (it != nodes_.end()) {
    return Status::AlreadyExists("two nodes have the unique id '" + id + "': " + it->second.path + " and " + node.path);
  }
  const Node& added = nodes_.emplace(id, std::move(node)).first->second;
  if (added.type == NodeType::kModel || added.type == NodeType::kSeed || added.type == NodeType::kSnapshot) {
    refable_by_name_[added.name].push_back(id);
  }
  if (added.type == NodeType::kSource && added.fqn.size() >= 2) {
    source_by_name_.emplace(added.fqn[added.fqn.size() - 2] + std::string(1, '\0') + added.name, id);
  }
  return Status::OK();
}

const Node* Manifest::Find(const std::string& unique_id) const {
  auto it = nodes_.find(unique_id);
  return it == nodes_.end() ? nullptr : &it->second;
}

Node* Manifest::FindMutable(const std::string& unique_id) {
  auto it = nodes_.find(unique_id);
  return it == nodes_.end() ? nullptr : &it->second;
}

const Node* Manifest::FindRefable(const std::string& name, const std::string& package, const std::string& from) const {
  auto it = refable_by_name_.find(name);
  if (it == refable_by_name_.end()) return nullptr;
  // A model before a seed before a snapshot; then by unique id.
  auto best_in = [&](const std::string& pkg) -> const Node* {
    const Node* best = nullptr;
    for (const std::string& id : it->second) {
      const Node* node = Find(id);
      if ((!pkg.empty() && node->package != pkg) || !node->enabled()) continue;
      if (best == nullptr || node->type < best->type ||
          (node->type == best->type && node->unique_id < best->unique_id)) {
        best = node;
      }
    }
    return best;
  };
  if (!package.empty()) return best_in(package);
  for (const std::string* pkg : {&root_package_, &from}) {
    if (pkg->empty()) continue;
    if (const Node* n = best_in(*pkg)) return n;
  }
  return best_in("");
}

const Node* Manifest::FindSource(const std::string& source, const std::string& table) const {
  auto it = source_by_name_.find(source + std::string(1, '\0') + table);
  return it == source_by_name_.end() ? nullptr : Find(it->second);
}

std::vector<std::string> Manifest::RefableNames() const {
  std::vector<std::string> out;
  for (const auto& [id, node] : nodes_) {
    if (node.type == NodeType::kModel || node.type == NodeType::kSeed || node.type == NodeType::kSnapshot) {
      out.push_back(node.name);
    }
  }
  return out;
}

std::vector<std::string> Manifest::SourceNames() const {
  std::vector<std::string> out;
  for (const auto& [id, node] : nodes_) {
    if (node.type == NodeType::kSource && node.fqn.size() >= 2) {
      out.push_back(node.fqn[node.fqn.size() - 2] + "." + node.name);
    }
  }
  return out;
}

Result<Graph> Manifest::BuildGraph() const {
  Graph g;
  for (const auto& [id, node] : nodes_) {
    if (!node.enabled()) continue;
    g.AddNode(id);
    for (const auto& parent : node.depends_on) {
      const Node* p = Find(parent);
      if (p == nullptr) {
        return Status::InvalidArgument(node.path + ": depends on unknown node '" + parent + "'");
      }
      if (!p->enabled()) {
        return Status::InvalidArgument(node.path + ": '" + node.name + "' depends on '" + p->name +
                                       "', which is disabled");
      }
      g.AddEdge(parent, id);
    }
  }
  STRATA_RETURN_IF_ERROR(g.TopologicalOrder().status());
  return g;
}

}  // namespace strata::transform
