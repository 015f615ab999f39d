// Node selection with dbt's syntax.
//
//   -s "a b"        union of a and b              -s a,b        intersection
//   name / fqn      stg_orders, shop.staging.*    path:models/staging   (or a path with '/')
//   tag:nightly     source:shopdb / source:shopdb.orders   resource_type:model
//   config.materialized:incremental               package:shop    test_type:generic|singular|unit
//   test_name:unique    state:new / state:modified (against options.state, a previous
//   manifest.json: new nodes; nodes whose file or config changed, or .body / .configs)
//   +x (ancestors), x+ (descendants), 2+x / x+1 (depth-limited), @x (descendants and
//   their ancestors). Wildcards '*' and '?' in values. --exclude uses the same syntax.
//   A name or dotted path also matches the fqn without the project name, as dbt 1.5+ does:
//   `staging` selects the models/staging folder, `staging.stg_orders` one model in it.
//
// Tests follow their parents (indirect selection, dbt's modes): eager selects a test when any
// node it tests is selected; cautious when all of them are; buildable when each is selected
// or upstream of a selected node; empty selects none.
#pragma once

#include <nlohmann/json.hpp>
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
  bool indirect_tests = true;                // false: as indirect_selection "empty"
  std::string indirect_selection = "eager";  // eager | cautious | buildable | empty
  // --resource-type: only nodes of these types ("model", "test", ...); empty: all.
  std::vector<std::string> resource_types;
  // --state: the previous manifest.json's `nodes` (and `sources`), for state: selectors.
  const nlohmann::json* state = nullptr;
};

// The selected unique ids (enabled nodes only). An unknown method, or a spec that matches
// nothing because of a typo, is reported with a "did you mean".
Result<std::set<std::string>> SelectNodes(const Manifest& manifest, const Graph& graph, const SelectOptions& options);

}  // namespace strata::transform
