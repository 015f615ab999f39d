// Graph: the DAG of a dbt-style project (nodes by unique id, edges parent -> child).
//
// Ninja-style: a plain adjacency structure, a deterministic topological order, and cycle
// errors that show the path ("dependency cycle: model.a -> model.b -> model.a").
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace strata::transform {

class Graph {
 public:
  void AddNode(const std::string& id);
  // Adds parent -> child (child depends on parent). Both are added as nodes.
  void AddEdge(const std::string& parent, const std::string& child);

  bool Has(const std::string& id) const { return parents_.count(id) > 0; }
  const std::set<std::string>& Parents(const std::string& id) const;
  const std::set<std::string>& Children(const std::string& id) const;
  std::vector<std::string> Nodes() const;

  // Every node after all its parents; ties broken by id, so the order is stable.
  // A cycle is kInvalidArgument naming one cycle's path.
  Result<std::vector<std::string>> TopologicalOrder() const;

  // Ancestors/descendants up to `depth` edges away (-1: unlimited), excluding the start.
  std::set<std::string> Ancestors(const std::string& id, int depth = -1) const;
  std::set<std::string> Descendants(const std::string& id, int depth = -1) const;

 private:
  std::set<std::string> Walk(const std::string& id, int depth, bool up) const;
  std::map<std::string, std::set<std::string>> parents_, children_;
};

}  // namespace strata::transform
