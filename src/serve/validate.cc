#include "serve/validate.h"

#include <set>

namespace strata::serve {

namespace {

// Every filter set to a plausible value, as the widest binding a query can get.
std::map<std::string, FilterValue> AllSet(const Dashboard& d) {
  std::map<std::string, FilterValue> all;
  for (const auto& f : d.filters) {
    FilterValue v;
    if (f.type == FilterSpec::Type::kDateRange) {
      v.start = "2000-01-01";
      v.end = "2000-01-31";
    } else {
      // The default's first value, so that values with a meaning (a date_trunc part) bind.
      std::string first = f.default_value.substr(0, f.default_value.find(','));
      v.values = {first.empty() ? "strata-validate" : first};
      v.list = f.multiple;
    }
    all[f.id] = std::move(v);
  }
  return all;
}

// Checks `sql`'s refs and runs it with no rows; returns its columns (empty when not run).
std::vector<std::string> CheckSql(const CardSql& sql, const std::string& where, const Dashboard& d,
                                  const ValidateOptions& o, std::vector<ValidationProblem>* out) {
  const bool system = !sql.system_tables().empty();
  Publication* pub = system ? o.system : o.publication;
  bool refs_ok = true;
  for (const auto& m : sql.refs()) {
    if (o.model_exists && !o.model_exists(m)) {
      out->push_back({where, "ref('" + m + "'): the dbt project has no model '" + m + "'"});
      refs_ok = false;
    } else if (pub != nullptr && pub->Relation(m).empty()) {
      out->push_back({where, "ref('" + m + "'): '" + m + "' is not published (add it to a publish task's selection)"});
      refs_ok = false;
    }
  }
  for (const auto& t : sql.system_tables()) {
    static const std::set<std::string> kTables = {"runs", "task_runs", "test_results", "lake_batches"};
    if (!kTables.contains(t)) {
      out->push_back({where, "strata('" + t + "'): no such table (runs, task_runs, test_results, lake_batches)"});
      refs_ok = false;
    }
  }
  if (pub == nullptr || !refs_ok) return {};
  const auto all = AllSet(d);
  auto bound = sql.Bind(
      [&](const std::string& name) -> const FilterValue* {
        auto it = all.find(name);
        return it == all.end() ? nullptr : &it->second;
      },
      [&](const std::string& name) { return pub->Relation(name); });
  if (!bound.ok()) {
    out->push_back({where, bound.status().message()});
    return {};
  }
  QueryLimits limits;
  limits.max_rows = 0;
  limits.timeout_ms = 10000;
  auto run = pub->Run(*bound, limits, nullptr);
  if (!run.ok()) {
    out->push_back({where, "the SQL does not run: " + run.status().message()});
    return {};
  }
  return run->result.columns;
}

void CheckColumns(const CardSpec& c, const std::vector<std::string>& columns, std::vector<ValidationProblem>* out) {
  if (columns.empty()) return;
  std::set<std::string> have(columns.begin(), columns.end());
  auto check = [&](const std::string& setting, const std::string& column) {
    if (have.contains(column)) return;
    std::string hint = Closest(column, columns);
    out->push_back({c.where, setting + " names column '" + column + "', which the query does not return" +
                                 (hint.empty() ? "" : " (did you mean '" + hint + "'?)")});
  };
  for (const char* key : {"x", "series", "value"}) {
    if (c.chart.contains(key) && c.chart[key].is_string()) check(std::string("chart.") + key, c.chart[key]);
  }
  for (const char* key : {"y", "bar", "line", "heat"}) {
    if (!c.chart.contains(key) || !c.chart[key].is_array()) continue;
    for (const auto& col : c.chart[key]) {
      if (col.is_string()) check(std::string("chart.") + key, col);
    }
  }
  if (c.drill.is_object() && c.drill.contains("column")) check("drill.column", c.drill["column"]);
}

}  // namespace

std::vector<ValidationProblem> Validate(const Dashboard& d, const ValidateOptions& o) {
  std::vector<ValidationProblem> out;
  for (const auto& f : d.filters) {
    if (f.values) CheckSql(*f.values, f.where + ".values", d, o, &out);
    if (f.anchor) CheckSql(*f.anchor, f.where + ".anchor", d, o, &out);
  }
  for (const auto& c : d.cards) CheckColumns(c, CheckSql(c.query, c.where, d, o, &out), &out);
  return out;
}

}  // namespace strata::serve
