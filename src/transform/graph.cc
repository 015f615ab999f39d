#include "transform/graph.h"

#include <deque>
#include <functional>
#include <queue>

namespace strata::transform {

namespace {
const std::set<std::string> kEmpty;
}

void Graph::AddNode(const std::string& id) {
  parents_[id];
  children_[id];
}

void Graph::AddEdge(const std::string& parent, const std::string& child) {
  AddNode(parent);
  AddNode(child);
  parents_[child].insert(parent);
  children_[parent].insert(child);
}

const std::set<std::string>& Graph::Parents(const std::string& id) const {
  auto it = parents_.find(id);
  return it == parents_.end() ? kEmpty : it->second;
}

const std::set<std::string>& Graph::Children(const std::string& id) const {
  auto it = children_.find(id);
  return it == children_.end() ? kEmpty : it->second;
}

std::vector<std::string> Graph::Nodes() const {
  std::vector<std::string> out;
  for (const auto& [id, _] : parents_) out.push_back(id);
  return out;
}

Result<std::vector<std::string>> Graph::TopologicalOrder() const {
  std::map<std::string, size_t> pending;
  std::priority_queue<std::string, std::vector<std::string>, std::greater<>> ready;
  for (const auto& [id, ps] : parents_) {
    pending[id] = ps.size();
    if (ps.empty()) ready.push(id);
  }
  std::vector<std::string> order;
  while (!ready.empty()) {
    std::string id = ready.top();
    ready.pop();
    order.push_back(id);
    for (const auto& c : Children(id)) {
      if (--pending[c] == 0) ready.push(c);
    }
  }
  if (order.size() == parents_.size()) return order;

  // Find one cycle among the nodes left, by walking parents until a node repeats.
  std::string start;
  for (const auto& [id, n] : pending) {
    if (n > 0) {
      start = id;
      break;
    }
  }
  std::vector<std::string> path;
  std::map<std::string, size_t> seen;
  std::string cur = start;
  while (!seen.count(cur)) {
    seen[cur] = path.size();
    path.push_back(cur);
    for (const auto& p : Parents(cur)) {
      if (pending.at(p) > 0) {
        cur = p;
        break;
      }
    }
  }
  std::vector<std::string> cycle(path.begin() + static_cast<long>(seen[cur]), path.end());
  // `cycle` follows parent links; print it in dependency order (parent -> child).
  std::string msg = "dependency cycle: " + cur;
  for (auto it = cycle.rbegin(); it != cycle.rend(); ++it) msg += " -> " + *it;
  return Status::InvalidArgument(msg);
}

std::set<std::string> Graph::Walk(const std::string& id, int depth, bool up) const {
  std::set<std::string> out;
  std::deque<std::pair<std::string, int>> queue{{id, 0}};
  while (!queue.empty()) {
    auto [cur, d] = queue.front();
    queue.pop_front();
    if (depth >= 0 && d >= depth) continue;
    for (const auto& next : up ? Parents(cur) : Children(cur)) {
      if (out.insert(next).second) queue.push_back({next, d + 1});
    }
  }
  out.erase(id);
  return out;
}

std::set<std::string> Graph::Ancestors(const std::string& id, int depth) const { return Walk(id, depth, true); }
std::set<std::string> Graph::Descendants(const std::string& id, int depth) const { return Walk(id, depth, false); }

}  // namespace strata::transform
