// Card SQL: the SQL of a dashboard card or filter, with parameters written as in Metabase's
// native queries.
//
//   {{ segment }}          the value of the filter `segment`: one bound parameter, or, for a
//                          multi-select filter, one per value: `x in {{ segment }}` runs as
//                          `x in ($1, $2)`
//   {{ period.start }}     a date-range filter's first and last day (inclusive), bound as
//   {{ period.end }}       dates: `cast(placed_at as date) between {{ period.start }} and
//                          {{ period.end }}`
//   [[ and x = {{ f }} ]]  an optional clause: kept only when every filter in it has a value
//   {{ ref('fact_orders') }}  the published relation of a dbt model
//   {{ strata('runs') }}   one of Strata's own tables (system_tables.h): runs, task_runs,
//                          test_results, lake_batches; a query reads these or published
//                          models, not both
//
// Values are always bound as parameters of a prepared statement, never spliced into the
// SQL text, so a filter value cannot change what the statement does.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace strata::serve {

// A filter's value for one query: nothing (unset), one or several strings, or a date range.
struct FilterValue {
  std::vector<std::string> values;  // category / text filters; empty = unset
  bool list = false;                // a multi-select filter: `{{ f }}` is `($1, ...)`
  std::string start, end;           // date ranges (YYYY-MM-DD, inclusive); empty = unset
  bool all_time = false;            // a date range over every date (nothing to compare with)
  bool set() const { return !values.empty() || !start.empty(); }
};

// A statement ready to run: `sql` with $1..$n placeholders and their values, all text (the
// engine casts them where the SQL's context says, or where the template cast them).
struct BoundQuery {
  std::string sql;
  std::vector<std::string> params;
  std::string Key() const;  // sql and params, for caches
};

class CardSql {
 public:
  // Parses `sql`; errors say where in it (line:col of the template) and what is wrong.
  static Result<CardSql> Parse(std::string_view sql);

  // The filters the SQL uses (the ones a card "takes"), and the models it refs.
  const std::set<std::string>& filters() const { return filters_; }
  const std::vector<std::string>& refs() const { return refs_; }
  const std::vector<std::string>& system_tables() const { return system_; }
  const std::string& text() const { return text_; }

  // Fills in parameters from `value_of` (nullptr or an unset value: not given) and
  // `relation_of` (model name, or system table name for strata(...) -> quoted relation). A parameter outside [[ ]]
  // without a value is kInvalidArgument naming the filter.
  Result<BoundQuery> Bind(const std::function<const FilterValue*(const std::string& filter)>& value_of,
                          const std::function<std::string(const std::string& model)>& relation_of) const;

 private:
  struct Part {
    enum Kind { kText, kParam, kRef, kOptionalBegin, kOptionalEnd } kind = kText;
    std::string text;   // kText: SQL; kParam: the filter; kRef: the model
    std::string field;  // kParam: "", "start" or "end"
  };
  std::string text_;
  std::vector<Part> parts_;
  std::set<std::string> filters_;
  std::vector<std::string> refs_;
  std::vector<std::string> system_;
};

}  // namespace strata::serve
