// Dashboards as code: `dashboards/*.yml` in the project, one dashboard per file.
//
//   title: E-commerce overview
//   description: Revenue, orders and customers.
//   filters:
//     period:   {type: date_range, label: Period, default: last_30_days,
//                anchor: "select max(cast(placed_at as date)) from {{ ref('fact_orders') }}"}
//     category: {type: category, multiple: true,
//                values: "select distinct category from {{ ref('dim_products') }} order by 1"}
//   columns:                       # formats, declared once per column name
//     revenue: {format: currency, currency: USD}
//     repeat_rate: {format: percent}
//   cards:
//     - id: revenue
//       title: Revenue
//       viz: number
//       compare: previous_period    # also runs with `period` moved back by its length
//       sql: |
//         select sum(line_revenue) as revenue from {{ ref('fact_orders') }}
//         where cast(placed_at as date) between {{ period.start }} and {{ period.end }}
//     - id: by_category              # or a model with dimensions and measures
//       viz: bar
//       model: fact_orders
//       dimensions: [category]
//       measures: {revenue: sum(line_revenue)}
//       where: {period: placed_at, category: category}   # filter -> column
//
// A card takes the filters its SQL names; changing another filter does not reload it. The
// models a dashboard reads (from its ref()s) are its dbt exposure's depends_on.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/status.h"
#include "serve/card_sql.h"
#include "transform/properties.h"

namespace strata::serve {

struct FilterSpec {
  enum class Type { kDateRange, kCategory, kText };
  std::string id;
  std::string label;
  Type type = Type::kCategory;
  bool multiple = false;
  std::string default_value;      // as in a URL: "last_30_days", "2024-01-01..2024-01-31", "gold,silver"
  std::optional<CardSql> values;  // category: the choices (first column), may use other filters
  std::optional<CardSql> anchor;  // date range: the day relative ranges end on (default: today)
  std::string where;              // file:line:col of the filter, for messages
};

// How a column's values are shown; declared once per column name in the dashboard.
struct ColumnFormat {
  std::string label;
  std::string format;  // number | integer | currency | percent | date | text ("" = by type)
  std::string currency = "USD";
  int decimals = -1;  // -1: the format's default
};

struct CardSpec {
  std::string id;
  std::string title;
  std::string description;
  std::string viz;  // number | line | area | bar | combo | pie | donut | funnel | table | pivot | heatmap | scatter
  CardSql query;
  std::string compare;       // "" or "previous_period"
  std::string compare_with;  // the date-range filter compared (the card's only one)
  int width = 6;             // of 12 grid columns
  int height = 0;            // rows of ~100 px; 0 = the viz's default
  nlohmann::json chart;      // the viz's settings (x, y, series, stacked, horizontal, ...)
  nlohmann::json drill;      // {filter: f, column: c}: a click sets filter f to the clicked c
  std::string where;         // file:line:col of the card
};

// Whether and how the dashboard can be embedded with a signed token (serve/embed.h):
//   embed: true                                   any filter may be fixed by a token
//   embed: {locked: [segment], disabled: [period]}
// `locked` filters must be fixed by every token; `disabled` ones are out of embeds (neither
// a token nor the viewer sets them: their default applies). Without `embed:` no token opens it.
struct EmbedSpec {
  bool enabled = false;
  std::set<std::string> locked;
  std::set<std::string> disabled;
};

struct Dashboard {
  std::string id;  // the file's name without .yml
  std::string file;
  std::string title;
  std::string description;
  std::vector<FilterSpec> filters;
  std::map<std::string, ColumnFormat> columns;
  std::vector<CardSpec> cards;
  std::vector<std::string> models;  // every model its cards and filters ref (sorted, unique)
  EmbedSpec embed;

  const FilterSpec* FindFilter(const std::string& id) const;
  const CardSpec* FindCard(const std::string& id) const;
};

// A card id: lower-case letters, digits, '_' and '-' (it is part of URLs and file names).
bool ValidCardId(const std::string& id);

// Parses one dashboard file; errors carry file:line:col.
Result<Dashboard> LoadDashboard(const std::string& path);
// Every `*.yml` in `dir` (none when it does not exist), sorted by id. The first error stops.
Result<std::vector<Dashboard>> LoadDashboards(const std::string& dir);

// A date-range filter's value as written in a URL: "2024-01-01..2024-01-31", or relative to
// `anchor`: today, yesterday, last_7_days, last_30_days, last_90_days, last_365_days,
// this_week, last_week, this_month, last_month, this_quarter, this_year, last_year,
// all_time (every date: 0001-01-01..9999-12-31, `all_time` set). Empty is all_time.
Result<FilterValue> ResolveDateRange(const std::string& text, Date anchor);
// The period of the same length just before `range` (unset for all_time).
FilterValue PreviousPeriod(const FilterValue& range);

// The filter values a request gives (name -> the URL's values for it: absent means the
// default, a single "" means none), as bound values: a multi-select filter takes every value
// given (a default is split on ','), date ranges resolve relative ones on the filter's anchor
// (nullopt: today, UTC). Unknown filter names and malformed values are kInvalidArgument.
Result<std::map<std::string, FilterValue>> ResolveFilters(
    const Dashboard& d, const std::map<std::string, std::vector<std::string>>& given,
    const std::function<Result<std::optional<Date>>(const FilterSpec&)>& anchor_of);

nlohmann::json ToJson(const Dashboard& d);  // the spec the web app renders (no SQL text)

// The dashboard as a dbt exposure (type dashboard, url /d/<id>) depending on the models its
// cards and filters ref.
transform::ExposureSpec ExposureOf(const Dashboard& d);

}  // namespace strata::serve
