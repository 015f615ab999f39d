// --defer (dbt 1.5+): a run that builds only some nodes reads the others from another
// environment's relations, named by that environment's manifest.json (--state or
// --defer-state), instead of failing on relations the current target never built.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "transform/loader.h"
#include "warehouse/session.h"

namespace strata::transform {

struct DeferOptions {
  const nlohmann::json* state = nullptr;  // the other environment's manifest.json
  // --favor-state: defer every unselected node the state has, even where the current target
  // has the relation. Without it, as in dbt, only those the current target lacks.
  bool favor_state = false;
};

// Points each model, seed and snapshot outside `selected` (ephemeral models aside) that the
// state manifest has, and that needs it, at the state's relation (database, schema,
// identifier), so that refs to it compile to that relation. `session` answers whether the
// current target has a relation. Returns the unique ids deferred.
Result<std::vector<std::string>> DeferUnselected(LoadedProject* project, const std::set<std::string>& selected,
                                                 warehouse::Session* session, const DeferOptions& options);

}  // namespace strata::transform
