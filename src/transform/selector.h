// Node selection with dbt's syntax.
//
//   -s "a b"        union of a and b              -s a,b        intersection
//   name / fqn      stg_orders, shop.staging.*    path:models/staging   (or a path with '/')
//   tag:nightly     source:shopdb / source:shopdb.orders   resource_type:model
//   config.materialized:incremental               package:shop    test_type:generic|singular|unit
//   test_name:unique
//   +x (ancestors), x+ (descendants), 2+x / x+1 (depth-limited), @x (descendants and
//   their ancestors). Wildcards '*' and '?' in values. --exclude uses the same syntax.
//
// Tests follow their parents ("eager" indirect selection): a test is selected when any node
// it tests is selected, unless indirect selection is off.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "transform/graph.h"
#include "transform/manifest.h"

namespace strata::transform {

struct SelectOptions {
  std::vector<std::string> select;  // each element may itself hold space-separated specs
  std::vector<std::string> exclude;
  bool indirect_tests = true;
};

// The selected unique ids (enabled nodes only). An unknown method, or a spec that matches
// nothing because of a typo, is reported with a "did you mean".
Result<std::set<std::string>> SelectNodes(const Manifest& manifest, const Graph& graph, const SelectOptions& options);

}  // namespace strata::transform
