#include "transform/manifest.h"

#include "core/config.h"

namespace strata::transform {

const char* NodeTypeName(NodeType type) {
  switch (type) {
    case NodeType::kModel: return "model";
    case NodeType::kSeed: return "seed";
    case NodeType::kSnapshot: return "snapshot";
    case NodeType::kTest: return "test";
    case NodeType::kSource: return "source";
    case NodeType::kUnitTest: return "unit_test";
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
    return Status::AlreadyExists("two nodes have the unique id '" + id + "': " + it->second.path + " and " +
                                 node.path);
  }
  nodes_.emplace(id, std::move(node));
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

const Node* Manifest::FindRefable(const std::string& name, const std::string& package) const {
  for (NodeType t : {NodeType::kModel, NodeType::kSeed, NodeType::kSnapshot}) {
    for (const auto& [id, node] : nodes_) {
      if (node.type == t && node.name == name && (package.empty() || node.package == package) && node.enabled()) {
        return &node;
      }
    }
  }
  return nullptr;
}

const Node* Manifest::FindSource(const std::string& source, const std::string& table) const {
  for (const auto& [id, node] : nodes_) {
    if (node.type == NodeType::kSource && node.fqn.size() >= 2 && node.fqn[node.fqn.size() - 2] == source &&
        node.name == table) {
      return &node;
    }
  }
  return nullptr;
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
