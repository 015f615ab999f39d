// Plan: which nodes of a run may start now — Ninja's Plan, for dbt's DAG.
//
// Nodes wait for other nodes; a node is ready once everything it waits for has finished
// well. A node that fails skips, transitively, every node waiting for it. The plan decides
// nothing about threads: the runner's workers take ready nodes under the runner's lock.
// (The pipeline executor has its own loop: Airflow's trigger rules and retries decide there
// what an upstream failure means; docs/adr/0011.)
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace strata::transform {

class Plan {
 public:
  // `nodes` to run; Wait() adds the order between them.
  explicit Plan(const std::set<std::string>& nodes);
  // `node` starts only after `waits_for` has finished well (both must be in the plan).
  void Wait(const std::string& node, const std::string& waits_for);

  // The next ready node (the smallest id among those ready at the start, then the most
  // recently released: a chain runs to its end before another starts), or nullopt.
  std::optional<std::string> NextReady();
  bool HasReady();
  // Marks `node` finished. Returns the nodes skipped because it failed, each with the
  // node whose failure skipped it, in the order they were skipped.
  std::vector<std::pair<std::string, std::string>> Finished(const std::string& node, bool ok);
  // Nodes neither finished nor skipped.
  size_t remaining() const { return remaining_; }
  std::vector<std::string> Unfinished() const;

 private:
  void Release(const std::string& node, bool ok, std::vector<std::pair<std::string, std::string>>* skipped);
  void Start();

  std::set<std::string> nodes_;
  std::map<std::string, std::set<std::string>> waits_;     // node -> what it still waits for
  std::map<std::string, std::set<std::string>> releases_;  // node -> who waits for it
  std::vector<std::string> ready_;
  std::set<std::string> done_, blocked_;
  size_t remaining_;
  bool started_ = false;
};

}  // namespace strata::transform
