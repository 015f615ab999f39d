// `strata dashboards validate`: everything about a project's dashboards that can be checked
// before anyone opens them.
//
//   - the files parse, with their filters and cards (file:line:col, as LoadDashboards);
//   - every ref() names a model of the dbt project (when one is given) and a relation the
//     publication has (when something is published);
//   - every card's and filter's SQL compiles and runs on the publication, bound with each
//     filter set (a query that takes no time: wrapped in LIMIT 0);
//   - the columns a card's chart and drill name are columns its query returns.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "serve/dashboard.h"
#include "serve/publication.h"

namespace strata::serve {

struct ValidationProblem {
  std::string where;  // file:line:col of the card or filter
  std::string message;
};

struct ValidateOptions {
  Publication* publication = nullptr;  // null: SQL is not compiled
  Publication* system = nullptr;       // for {{ strata(...) }}; null: not compiled
  // Whether the dbt project has a model of this name (null: not checked).
  std::function<bool(const std::string& model)> model_exists;
};

std::vector<ValidationProblem> Validate(const Dashboard& d, const ValidateOptions& options);

}  // namespace strata::serve
