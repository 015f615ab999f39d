#include "transform/plan.h"

#include <algorithm>

namespace strata::transform {

Plan::Plan(const std::set<std::string>& nodes) : nodes_(nodes), remaining_(nodes.size()) {}

void Plan::Wait(const std::string& node, const std::string& waits_for) {
  waits_[node].insert(waits_for);
  releases_[waits_for].insert(node);
}

void Plan::Start() {
  if (started_) return;
  started_ = true;
  for (const auto& node : nodes_) {
    auto it = waits_.find(node);
    if (it == waits_.end() || it->second.empty()) ready_.push_back(node);
  }
  std::sort(ready_.rbegin(), ready_.rend());  // pop_back takes the smallest id first
}

bool Plan::HasReady() {
  Start();
  return !ready_.empty();
}

std::optional<std::string> Plan::NextReady() {
  Start();
  if (ready_.empty()) return std::nullopt;
  std::string node = std::move(ready_.back());
  ready_.pop_back();
  return node;
}

std::vector<std::pair<std::string, std::string>> Plan::Finished(const std::string& node, bool ok) {
  Start();
  std::vector<std::pair<std::string, std::string>> skipped;
  Release(node, ok, &skipped);
  return skipped;
}

void Plan::Release(const std::string& node, bool ok, std::vector<std::pair<std::string, std::string>>* skipped) {
  done_.insert(node);
  --remaining_;
  for (const auto& dep : releases_[node]) {
    if (!ok) {
      if (blocked_.insert(dep).second) {
        skipped->emplace_back(dep, node);
        Release(dep, false, skipped);
      }
      continue;
    }
    auto& waits = waits_[dep];
    waits.erase(node);
    if (waits.empty() && !blocked_.count(dep)) ready_.push_back(dep);
  }
}

std::vector<std::string> Plan::Unfinished() const {
  std::vector<std::string> out;
  for (const auto& node : nodes_) {
    if (!done_.count(node)) out.push_back(node);
  }
  return out;
}

}  // namespace strata::transform
