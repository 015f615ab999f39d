#include "serve/dashboard.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/config.h"
#include "core/strings.h"

namespace strata::serve {

namespace {

using nlohmann::json;

const std::vector<std::string> kVizs = {"number", "line",   "area",  "bar",   "combo",   "pie",
                                        "donut",  "funnel", "table", "pivot", "heatmap", "scatter"};
const std::vector<std::string> kFormats = {"number", "integer", "currency", "percent", "date", "text"};

// A SQL field of the file (raw: no ${VAR} expansion inside SQL), parsed as card SQL.
Result<CardSql> SqlAt(const ConfigNode& node) {
  STRATA_ASSIGN_OR_RETURN(std::string text, node.RawString());
  auto parsed = CardSql::Parse(text);
  if (!parsed.ok()) return node.Error(parsed.status().message());
  return parsed;
}

Status ParseFilter(const std::string& id, const ConfigNode& n, FilterSpec* f) {
  STRATA_RETURN_IF_ERROR(n.CheckKeys({"type", "label", "multiple", "default", "values", "anchor"}));
  f->id = id;
  f->where = n.Where();
  STRATA_ASSIGN_OR_RETURN(f->label, n.String("label", id));
  STRATA_ASSIGN_OR_RETURN(std::string type, n.String("type", "category"));
  if (type == "date_range") {
    f->type = FilterSpec::Type::kDateRange;
  } else if (type == "category") {
    f->type = FilterSpec::Type::kCategory;
  } else if (type == "text") {
    f->type = FilterSpec::Type::kText;
  } else {
    return n["type"].Error("unknown filter type '" + type + "' (date_range, category or text)");
  }
  STRATA_ASSIGN_OR_RETURN(f->multiple, n.Bool("multiple", false));
  if (n.Has("default")) {
    if (n["default"].IsList()) {
      STRATA_ASSIGN_OR_RETURN(auto values, n["default"].StringList());
      for (const auto& v : values) f->default_value += (f->default_value.empty() ? "" : ",") + v;
    } else {
      STRATA_ASSIGN_OR_RETURN(f->default_value, n.String("default", ""));
    }
    if (f->type == FilterSpec::Type::kDateRange) {
      auto check = ResolveDateRange(f->default_value, Date::TodayUtc());
      if (!check.ok()) return n["default"].Error(check.status().message());
    }
  }
  if (n.Has("values")) {
    if (f->type == FilterSpec::Type::kDateRange) return n["values"].Error("a date_range filter has no `values`");
    STRATA_ASSIGN_OR_RETURN(f->values, SqlAt(n["values"]));
  }
  if (n.Has("anchor")) {
    if (f->type != FilterSpec::Type::kDateRange) return n["anchor"].Error("only a date_range filter has an `anchor`");
    STRATA_ASSIGN_OR_RETURN(f->anchor, SqlAt(n["anchor"]));
    if (!f->anchor->filters().empty()) return n["anchor"].Error("an anchor cannot depend on filters");
  }
  return Status::OK();
}

Status ParseFormat(const ConfigNode& n, ColumnFormat* c) {
  STRATA_RETURN_IF_ERROR(n.CheckKeys({"label", "format", "currency", "decimals"}));
  STRATA_ASSIGN_OR_RETURN(c->label, n.String("label", ""));
  STRATA_ASSIGN_OR_RETURN(c->format, n.String("format", ""));
  if (!c->format.empty() && std::find(kFormats.begin(), kFormats.end(), c->format) == kFormats.end()) {
    std::string hint = Closest(c->format, kFormats);
    return n["format"].Error("unknown format '" + c->format + "'" +
                             (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
  STRATA_ASSIGN_OR_RETURN(c->currency, n.String("currency", "USD"));
  STRATA_ASSIGN_OR_RETURN(int64_t decimals, n.Int("decimals", -1));
  if (decimals < -1 || decimals > 10) return n["decimals"].Error("decimals is 0 to 10");
  c->decimals = static_cast<int>(decimals);
  return Status::OK();
}

// The SQL of a `model:` card: its dimensions and measures, filtered by `where`.
Result<std::string> ModelSql(const ConfigNode& n, const Dashboard& d) {
  STRATA_ASSIGN_OR_RETURN(std::string model, n["model"].String());
  std::vector<std::string> dims;
  if (n.Has("dimensions")) {
    STRATA_ASSIGN_OR_RETURN(dims, n["dimensions"].StringList());
  }
  std::vector<std::pair<std::string, std::string>> measures;
  STRATA_ASSIGN_OR_RETURN(auto entries, n["measures"].Entries());
  for (const auto& [name, expr] : entries) {
    STRATA_ASSIGN_OR_RETURN(std::string e, expr.RawString());
    measures.emplace_back(name, e);
  }
  if (measures.empty() && dims.empty()) return n.Error("a model card needs dimensions or measures");
  std::string sql = "select ";
  std::string sep;
  for (const auto& dim : dims) {
    sql += sep + dim;
    sep = ", ";
  }
  for (const auto& [name, expr] : measures) {
    sql += sep + expr + " as " + name;
    sep = ", ";
  }
  sql += "\nfrom {{ ref('" + model + "') }}\nwhere true";
  if (n.Has("where")) {
    STRATA_ASSIGN_OR_RETURN(auto binds, n["where"].Entries());
    for (const auto& [filter, column_node] : binds) {
      STRATA_ASSIGN_OR_RETURN(std::string column, column_node.String());
      const FilterSpec* f = d.FindFilter(filter);
      if (f == nullptr) return column_node.Error("no filter '" + filter + "' in this dashboard");
      if (f->type == FilterSpec::Type::kDateRange) {
        sql +=
            "\n[[ and cast(" + column + " as date) between {{ " + filter + ".start }} and {{ " + filter + ".end }} ]]";
      } else if (f->multiple) {
        sql += "\n[[ and " + column + " in {{ " + filter + " }} ]]";
      } else {
        sql += "\n[[ and " + column + " = {{ " + filter + " }} ]]";
      }
    }
  }
  if (!dims.empty() && !measures.empty()) {
    sql += "\ngroup by ";
    for (size_t i = 0; i < dims.size(); ++i) sql += (i ? ", " : "") + std::to_string(i + 1);
  }
  if (n.Has("order_by")) {
    STRATA_ASSIGN_OR_RETURN(std::string order, n["order_by"].RawString());
    sql += "\norder by " + order;
  } else if (!dims.empty()) {
    sql += "\norder by ";
    for (size_t i = 0; i < dims.size(); ++i) sql += (i ? ", " : "") + std::to_string(i + 1);
  }
  if (n.Has("limit")) {
    STRATA_ASSIGN_OR_RETURN(int64_t limit, n["limit"].Int());
    if (limit <= 0) return n["limit"].Error("limit must be positive");
    sql += "\nlimit " + std::to_string(limit);
  }
  return sql;
}

// The filters `sql` uses exist and are used as their types allow.
Status CheckFilterUse(const CardSql& sql, const Dashboard& d, const ConfigNode& at) {
  for (const auto& name : sql.filters()) {
    if (d.FindFilter(name) == nullptr) {
      std::vector<std::string> names;
      for (const auto& f : d.filters) names.push_back(f.id);
      std::string hint = Closest(name, names);
      return at.Error("the SQL uses filter '" + name + "', which this dashboard does not declare" +
                      (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
  }
  // The field use (.start/.end only on date ranges) is checked by binding every filter set.
  std::map<std::string, FilterValue> all;
  for (const auto& f : d.filters) {
    FilterValue v;
    if (f.type == FilterSpec::Type::kDateRange) {
      v.start = v.end = "2000-01-01";
    } else {
      v.values = {"x"};
      v.list = f.multiple;
    }
    all[f.id] = v;
  }
  auto bound = sql.Bind([&](const std::string& name) { return &all[name]; }, [](const std::string&) { return "t"; });
  if (!bound.ok()) return at.Error(bound.status().message());
  return Status::OK();
}

Status ParseCard(const ConfigNode& n, const Dashboard& d, CardSpec* c) {
  STRATA_RETURN_IF_ERROR(n.CheckKeys({"id", "title", "description", "viz", "sql", "model", "dimensions", "measures",
                                      "where", "order_by", "limit", "compare", "width", "height", "chart", "drill"}));
  c->where = n.Where();
  STRATA_ASSIGN_OR_RETURN(c->id, n.RequiredString("id"));
  if (!ValidCardId(c->id)) {
    return n["id"].Error("a card id is lower-case letters, digits, '_' and '-'");
  }
  STRATA_ASSIGN_OR_RETURN(c->title, n.String("title", c->id));
  STRATA_ASSIGN_OR_RETURN(c->description, n.String("description", ""));
  STRATA_ASSIGN_OR_RETURN(c->viz, n.String("viz", "table"));
  if (std::find(kVizs.begin(), kVizs.end(), c->viz) == kVizs.end()) {
    std::string hint = Closest(c->viz, kVizs);
    return n["viz"].Error("unknown viz '" + c->viz + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
  if (n.Has("sql") == n.Has("model")) {
    return n.Error("a card has either `sql` or `model` (with dimensions and measures)");
  }
  ConfigNode sql_at = n.Has("sql") ? n["sql"] : n["model"];
  if (n.Has("sql")) {
    if (n.Has("dimensions") || n.Has("measures") || n.Has("where")) {
      return n.Error("dimensions, measures and where go with `model`, not `sql`");
    }
    STRATA_ASSIGN_OR_RETURN(c->query, SqlAt(n["sql"]));
  } else if (n.Has("model")) {
    STRATA_ASSIGN_OR_RETURN(std::string sql, ModelSql(n, d));
    auto parsed = CardSql::Parse(sql);
    if (!parsed.ok()) return n.Error(parsed.status().message());
    c->query = std::move(*parsed);
  }
  STRATA_RETURN_IF_ERROR(CheckFilterUse(c->query, d, sql_at));
  STRATA_ASSIGN_OR_RETURN(c->compare, n.String("compare", ""));
  if (!c->compare.empty()) {
    if (c->compare != "previous_period") return n["compare"].Error("compare is 'previous_period'");
    for (const auto& f : c->query.filters()) {
      if (d.FindFilter(f)->type != FilterSpec::Type::kDateRange) continue;
      if (!c->compare_with.empty()) {
        return n["compare"].Error("the card takes two date ranges (" + c->compare_with + ", " + f +
                                  "): compare needs exactly one");
      }
      c->compare_with = f;
    }
    if (c->compare_with.empty()) return n["compare"].Error("compare needs the card to take a date_range filter");
  }
  STRATA_ASSIGN_OR_RETURN(int64_t width, n.Int("width", c->viz == "number" ? 3 : 6));
  if (width < 1 || width > 12) return n["width"].Error("width is 1 to 12 (grid columns)");
  c->width = static_cast<int>(width);
  STRATA_ASSIGN_OR_RETURN(int64_t height, n.Int("height", 0));
  if (height < 0 || height > 20) return n["height"].Error("height is 1 to 20 (rows of ~100 px)");
  c->height = static_cast<int>(height);
  if (n.Has("chart")) {
    if (!n["chart"].IsMap()) return n["chart"].Error("chart is a map of settings (x, y, series, stacked, ...)");
    c->chart = n["chart"].ToJson();
  }
  if (n.Has("drill")) {
    const ConfigNode drill = n["drill"];
    STRATA_RETURN_IF_ERROR(drill.CheckKeys({"filter", "column"}));
    STRATA_ASSIGN_OR_RETURN(std::string filter, drill.RequiredString("filter"));
    STRATA_ASSIGN_OR_RETURN(std::string column, drill.RequiredString("column"));
    const FilterSpec* f = d.FindFilter(filter);
    if (f == nullptr || f->type == FilterSpec::Type::kDateRange) {
      return drill["filter"].Error("drill sets a category or text filter of this dashboard; '" + filter +
                                   "' is not one");
    }
    c->drill = {{"filter", filter}, {"column", column}};
  }
  return Status::OK();
}

}  // namespace

bool ValidCardId(const std::string& id) {
  return !id.empty() && id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
}

const FilterSpec* Dashboard::FindFilter(const std::string& id) const {
  for (const auto& f : filters) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

const CardSpec* Dashboard::FindCard(const std::string& id) const {
  for (const auto& c : cards) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

namespace {

Status ParseEmbed(const ConfigNode& n, const Dashboard& d, EmbedSpec* e) {
  if (n.IsScalar()) {
    STRATA_ASSIGN_OR_RETURN(e->enabled, n.Bool());
    return Status::OK();
  }
  if (!n.IsMap()) return n.Error("embed is true, false or a map with locked and disabled filter lists");
  STRATA_RETURN_IF_ERROR(n.CheckKeys({"locked", "disabled"}));
  e->enabled = true;
  for (const char* key : {"locked", "disabled"}) {
    if (!n.Has(key)) continue;
    STRATA_ASSIGN_OR_RETURN(auto names, n[key].StringList());
    for (const auto& name : names) {
      if (d.FindFilter(name) == nullptr)
        return n[key].Error("embed." + std::string(key) + ": no filter '" + name + "'");
      (std::string(key) == "locked" ? e->locked : e->disabled).insert(name);
    }
  }
  for (const auto& name : e->locked) {
    if (e->disabled.contains(name)) return n.Error("filter '" + name + "' is both locked and disabled in embeds");
  }
  return Status::OK();
}

}  // namespace

Result<Dashboard> LoadDashboard(const std::string& path) {
  STRATA_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::Load(path, /*unique_keys=*/true));
  if (!root.IsMap()) return root.Error("a dashboard file is a map (title, filters, cards)");
  STRATA_RETURN_IF_ERROR(root.CheckKeys({"title", "description", "filters", "columns", "cards", "embed"}));
  Dashboard d;
  d.file = path;
  d.id = std::filesystem::path(path).stem().string();
  STRATA_ASSIGN_OR_RETURN(d.title, root.String("title", d.id));
  STRATA_ASSIGN_OR_RETURN(d.description, root.String("description", ""));
  if (root.Has("filters")) {
    STRATA_ASSIGN_OR_RETURN(auto entries, root["filters"].Entries());
    for (const auto& [id, node] : entries) {
      FilterSpec f;
      STRATA_RETURN_IF_ERROR(ParseFilter(id, node, &f));
      d.filters.push_back(std::move(f));
    }
    // Linked filters: a filter's choices may depend on others, without cycles.
    for (const auto& [id, node] : entries) {
      const FilterSpec* f = d.FindFilter(id);
      if (!f->values) continue;
      STRATA_RETURN_IF_ERROR(CheckFilterUse(*f->values, d, node["values"]));
      std::set<std::string> seen = {id};
      std::vector<std::string> todo(f->values->filters().begin(), f->values->filters().end());
      while (!todo.empty()) {
        std::string next = todo.back();
        todo.pop_back();
        if (next == id) return node["values"].Error("filter '" + id + "' depends on itself through its values");
        if (!seen.insert(next).second) continue;
        const FilterSpec* g = d.FindFilter(next);
        if (g->values) todo.insert(todo.end(), g->values->filters().begin(), g->values->filters().end());
      }
    }
  }
  if (root.Has("columns")) {
    STRATA_ASSIGN_OR_RETURN(auto entries, root["columns"].Entries());
    for (const auto& [name, node] : entries) STRATA_RETURN_IF_ERROR(ParseFormat(node, &d.columns[AsciiLower(name)]));
  }
  if (!root.Has("cards")) return root.Error("a dashboard needs `cards`");
  STRATA_ASSIGN_OR_RETURN(auto cards, root["cards"].Items());
  std::set<std::string> models;
  for (const auto& node : cards) {
    CardSpec c;
    STRATA_RETURN_IF_ERROR(ParseCard(node, d, &c));
    if (d.FindCard(c.id) != nullptr) return node["id"].Error("two cards are named '" + c.id + "'");
    models.insert(c.query.refs().begin(), c.query.refs().end());
    d.cards.push_back(std::move(c));
  }
  for (const auto& f : d.filters) {
    if (f.values) models.insert(f.values->refs().begin(), f.values->refs().end());
    if (f.anchor) models.insert(f.anchor->refs().begin(), f.anchor->refs().end());
  }
  d.models.assign(models.begin(), models.end());
  if (root.Has("embed")) STRATA_RETURN_IF_ERROR(ParseEmbed(root["embed"], d, &d.embed));
  return d;
}

Result<std::vector<Dashboard>> LoadDashboards(const std::string& dir) {
  std::vector<Dashboard> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yml" || ext == ".yaml")) files.push_back(e.path().string());
  }
  if (ec) return Status::IOError("cannot list " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    STRATA_ASSIGN_OR_RETURN(Dashboard d, LoadDashboard(f));
    for (const auto& other : out) {
      if (other.id == d.id)
        return Status::InvalidArgument(f + ": a dashboard named '" + d.id + "' is in " + other.file);
    }
    out.push_back(std::move(d));
  }
  return out;
}

Result<FilterValue> ResolveDateRange(const std::string& text, Date anchor) {
  FilterValue v;
  auto range = [&](Date from, Date to) {
    v.start = from.ToString();
    v.end = to.ToString();
    return v;
  };
  int y = 0;
  unsigned m = 0, day = 0;
  anchor.ToYmd(&y, &m, &day);
  const Date month_start = Date::FromYmd(y, m, 1);
  if (text.empty() || text == "all_time") {
    // Every date, so that cards need no optional clause for it.
    v.start = "0001-01-01";
    v.end = "9999-12-31";
    v.all_time = true;
    return v;
  }
  if (size_t dots = text.find(".."); dots != std::string::npos) {
    auto from = Date::Parse(text.substr(0, dots));
    auto to = Date::Parse(text.substr(dots + 2));
    if (!from.ok() || !to.ok()) {
      return Status::InvalidArgument("date range '" + text + "' is not YYYY-MM-DD..YYYY-MM-DD");
    }
    if (*to < *from) return Status::InvalidArgument("date range '" + text + "' ends before it starts");
    return range(*from, *to);
  }
  if (text == "today") return range(anchor, anchor);
  if (text == "yesterday") return range(anchor - 1, anchor - 1);
  for (int n : {7, 14, 30, 90, 365}) {
    if (text == "last_" + std::to_string(n) + "_days") return range(anchor - (n - 1), anchor);
  }
  const int64_t weekday = ((anchor.days() % 7) + 7 + 3) % 7;  // 0 = Monday (1970-01-01 was a Thursday)
  if (text == "this_week") return range(anchor - weekday, anchor);
  if (text == "last_week") return range(anchor - weekday - 7, anchor - weekday - 1);
  if (text == "this_month") return range(month_start, anchor);
  if (text == "last_month") {
    const Date prev_end = month_start - 1;
    int py = 0;
    unsigned pm = 0, pd = 0;
    prev_end.ToYmd(&py, &pm, &pd);
    return range(Date::FromYmd(py, pm, 1), prev_end);
  }
  if (text == "this_quarter") return range(Date::FromYmd(y, (m - 1) / 3 * 3 + 1, 1), anchor);
  if (text == "this_year") return range(Date::FromYmd(y, 1, 1), anchor);
  if (text == "last_year") return range(Date::FromYmd(y - 1, 1, 1), Date::FromYmd(y - 1, 12, 31));
  return Status::InvalidArgument(
      "unknown date range '" + text +
      "' (YYYY-MM-DD..YYYY-MM-DD, today, yesterday, last_7_days, last_30_days, last_90_days, last_365_days, "
      "this_week, last_week, this_month, last_month, this_quarter, this_year, last_year, all_time)");
}

FilterValue PreviousPeriod(const FilterValue& range) {
  FilterValue prev;
  if (range.all_time) return prev;
  auto from = Date::Parse(range.start);
  auto to = Date::Parse(range.end);
  if (!from.ok() || !to.ok()) return prev;
  const int64_t length = (*to - *from) + 1;
  prev.start = (*from - length).ToString();
  prev.end = (*from - 1).ToString();
  return prev;
}

Result<std::map<std::string, FilterValue>> ResolveFilters(
    const Dashboard& d, const std::map<std::string, std::vector<std::string>>& given,
    const std::function<Result<std::optional<Date>>(const FilterSpec&)>& anchor_of) {
  for (const auto& [name, values] : given) {
    if (d.FindFilter(name) == nullptr) {
      return Status::InvalidArgument("dashboard '" + d.id + "' has no filter '" + name + "'");
    }
  }
  std::map<std::string, FilterValue> out;
  for (const auto& f : d.filters) {
    std::vector<std::string> values;
    auto it = given.find(f.id);
    if (it == given.end()) {
      if (!f.default_value.empty()) {
        if (f.multiple) {
          size_t from = 0;
          while (from <= f.default_value.size()) {
            size_t comma = f.default_value.find(',', from);
            if (comma == std::string::npos) comma = f.default_value.size();
            values.push_back(f.default_value.substr(from, comma - from));
            from = comma + 1;
          }
        } else {
          values.push_back(f.default_value);
        }
      }
    } else {
      values = it->second;
    }
    std::erase(values, std::string());
    if (values.size() > 1000) return Status::InvalidArgument("filter '" + f.id + "' has over 1,000 values");
    for (const auto& v : values) {
      if (v.size() > 1000) return Status::InvalidArgument("a value of filter '" + f.id + "' is over 1,000 bytes");
    }
    if (values.size() > 1 && !f.multiple) {
      return Status::InvalidArgument("filter '" + f.id + "' takes one value, got " + std::to_string(values.size()));
    }
    FilterValue v;
    if (f.type == FilterSpec::Type::kDateRange) {
      const std::string text = values.empty() ? "" : values[0];
      Date anchor = Date::TodayUtc();
      if (!text.empty() && text.find("..") == std::string::npos && text != "all_time") {
        STRATA_ASSIGN_OR_RETURN(auto a, anchor_of(f));
        if (a) anchor = *a;
      }
      auto r = ResolveDateRange(text, anchor);
      if (!r.ok()) return r.status().WithContext("filter '" + f.id + "'");
      v = *r;
    } else {
      v.list = f.multiple;
      v.values = std::move(values);
    }
    out[f.id] = std::move(v);
  }
  return out;
}

json ToJson(const Dashboard& d) {
  json filters = json::array();
  for (const auto& f : d.filters) {
    const char* type = f.type == FilterSpec::Type::kDateRange ? "date_range"
                       : f.type == FilterSpec::Type::kText    ? "text"
                                                              : "category";
    json depends = json::array();
    if (f.values) {
      for (const auto& g : f.values->filters()) depends.push_back(g);
    }
    filters.push_back({{"id", f.id},
                       {"label", f.label},
                       {"type", type},
                       {"multiple", f.multiple},
                       {"default", f.default_value},
                       {"has_values", f.values.has_value()},
                       {"depends_on", depends}});
  }
  json columns = json::object();
  for (const auto& [name, c] : d.columns) {
    json col = {{"format", c.format}, {"currency", c.currency}};
    if (!c.label.empty()) col["label"] = c.label;
    if (c.decimals >= 0) col["decimals"] = c.decimals;
    columns[name] = col;
  }
  json cards = json::array();
  for (const auto& c : d.cards) {
    json takes = json::array();
    for (const auto& f : c.query.filters()) takes.push_back(f);
    cards.push_back({{"id", c.id},
                     {"title", c.title},
                     {"description", c.description},
                     {"viz", c.viz},
                     {"filters", takes},
                     {"compare", c.compare.empty() ? json() : json(c.compare)},
                     {"width", c.width},
                     {"height", c.height},
                     {"chart", c.chart.is_null() ? json::object() : c.chart},
                     {"drill", c.drill}});
  }
  return {{"id", d.id},         {"title", d.title},   {"description", d.description},
          {"filters", filters}, {"columns", columns}, {"cards", cards},
          {"models", d.models}};
}

transform::ExposureSpec ExposureOf(const Dashboard& d) {
  transform::ExposureSpec x;
  x.name = d.id;
  x.type = "dashboard";
  x.label = d.title;
  x.description = d.description;
  x.url = "/d/" + d.id;
  x.file = d.file;
  x.where = d.file;
  x.meta = {{"strata_dashboard", true}, {"cards", d.cards.size()}};
  for (const auto& m : d.models) x.depends_on.push_back("ref('" + m + "')");
  return x;
}

}  // namespace strata::serve
