#include "quality/validator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <functional>
#include <set>

#include "core/date.h"
#include "db/cell_json.h"
#include "db/duckdb.h"
#include "quality/expectations.h"
#include "warehouse/session.h"

namespace strata::quality {

namespace {

using nlohmann::json;

constexpr const char* kGeVersion = "0.18.12";
constexpr int64_t kCompleteLimit = 100000;  // COMPLETE's unexpected_list stops here
constexpr int64_t kDistinctLimit = 1000;    // distinct values listed as an observed_value

// ------------------------------------------------------------------ SQL of each engine
struct Dialect {
  bool pg = false;

  std::string Quote(const std::string& name) const { return duck::QuoteIdent(name); }
  // "schema.table" with each part quoted (parts already in quotes stay as they are).
  std::string Relation(const std::string& rel) const {
    std::string out, part;
    bool quoted = false;
    auto flush = [&] {
      out += (out.empty() ? "" : ".") + (part.size() >= 2 && part.front() == '"' ? part : Quote(part));
      part.clear();
    };
    for (char c : rel) {
      if (c == '"') quoted = !quoted;
      if (c == '.' && !quoted) {
        flush();
      } else {
        part += c;
      }
    }
    flush();
    return out;
  }
  std::string Literal(const json& v) const {
    if (v.is_null()) return "NULL";
    if (v.is_boolean()) return v.get<bool>() ? "TRUE" : "FALSE";
    if (v.is_number()) return v.dump();
    return duck::QuoteLiteral(v.is_string() ? v.get<std::string>() : v.dump());
  }
  std::string Double() const { return pg ? "DOUBLE PRECISION" : "DOUBLE"; }
  std::string Text(const std::string& c) const { return "CAST(" + c + (pg ? " AS TEXT)" : " AS VARCHAR)"); }
  std::string Regex(const std::string& c, const std::string& pattern) const {
    return pg ? "(" + Text(c) + " ~ " + Literal(pattern) + ")"
              : "regexp_matches(" + Text(c) + ", " + Literal(pattern) + ")";
  }
  std::string Like(const std::string& c, const std::string& pattern) const {
    return "(" + Text(c) + " LIKE " + Literal(pattern) + ")";
  }
  std::string Quantile(const std::string& c, double q, bool continuous) const {
    const std::string qs = json(q).dump();
    if (pg)
      return std::string(continuous ? "percentile_cont(" : "percentile_disc(") + qs + ") WITHIN GROUP (ORDER BY " + c +
             ")";
    return std::string(continuous ? "quantile_cont(" : "quantile_disc(") + c + ", " + qs + ")";
  }
};

std::string And(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return "(" + a + ") AND (" + b + ")";
}

std::string Filtered(const std::string& agg, const std::string& filter) {
  return filter.empty() ? agg : agg + " FILTER (WHERE " + filter + ")";
}

// PostgreSQL has no safe JSON or strftime check: temporary functions (pg_temp) do them.
constexpr const char* kPgHelpers = R"(
CREATE OR REPLACE FUNCTION pg_temp.strata_json_valid(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN PERFORM t::json; RETURN true; EXCEPTION WHEN others THEN RETURN false; END $$;
CREATE OR REPLACE FUNCTION pg_temp.strata_time_valid(t text, fmt text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN PERFORM to_timestamp(t, fmt); RETURN true; EXCEPTION WHEN others THEN RETURN false; END $$;
)";

// A strftime format as a regular expression of its shape and a PostgreSQL to_timestamp
// template (both needed: to_timestamp alone is lenient about what it skips).
Result<std::pair<std::string, std::string>> StrftimeForPg(const std::string& fmt) {
  std::string re = "^", tpl;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c != '%') {
      if (std::string(".^$*+?()[]{}|\\").find(c) != std::string::npos) re += '\\';
      re += c;
      tpl += c == '"' ? std::string("\\\"") : std::string(1, c);
      continue;
    }
    if (++i >= fmt.size()) return Status::InvalidArgument("strftime_format ends with '%'");
    switch (fmt[i]) {
      case 'Y':
        re += "[0-9]{4}";
        tpl += "YYYY";
        break;
      case 'y':
        re += "[0-9]{2}";
        tpl += "YY";
        break;
      case 'm':
        re += "(0?[1-9]|1[0-2])";
        tpl += "MM";
        break;
      case 'd':
        re += "(0?[1-9]|[12][0-9]|3[01])";
        tpl += "DD";
        break;
      case 'H':
        re += "([01]?[0-9]|2[0-3])";
        tpl += "HH24";
        break;
      case 'I':
        re += "(0?[1-9]|1[0-2])";
        tpl += "HH12";
        break;
      case 'M':
        re += "[0-5]?[0-9]";
        tpl += "MI";
        break;
      case 'S':
        re += "[0-5]?[0-9]";
        tpl += "SS";
        break;
      case 'f':
        re += "[0-9]{1,6}";
        tpl += "US";
        break;
      case 'j':
        re += "[0-9]{1,3}";
        tpl += "DDD";
        break;
      case 'p':
        re += "(AM|PM|am|pm)";
        tpl += "AM";
        break;
      case 'b':
        re += "[A-Za-z]{3}";
        tpl += "Mon";
        break;
      case 'B':
        re += "[A-Za-z]+";
        tpl += "FMMonth";
        break;
      case 'z':
        re += "[+-][0-9]{2}:?[0-9]{2}";
        tpl += "OF";
        break;
      case '%':
        re += "%";
        tpl += "%";
        break;
      default:
        return Status::InvalidArgument(std::string("strftime_format %") + fmt[i] + " is not supported on PostgreSQL");
    }
  }
  return std::make_pair(re + "$", tpl);
}

// ------------------------------------------------------------------ result formats
struct Format {
  std::string name = "BASIC";
  int64_t partial = 20;  // partial_unexpected_count
};

Format ParseFormat(const json& f) {
  Format out;
  if (f.is_string()) out.name = f;
  if (f.is_object()) {
    out.name = f.value("result_format", std::string("BASIC"));
    if (f.contains("partial_unexpected_count") && f["partial_unexpected_count"].is_number_integer()) {
      out.partial = std::max<int64_t>(0, f["partial_unexpected_count"].get<int64_t>());
    }
  }
  return out;
}

// ------------------------------------------------------------------ evaluation parameters
Result<json> EvaluateParameter(const std::string& expr, const std::map<std::string, json>& params) {
  if (expr.rfind("urn:great_expectations:", 0) == 0) {
    return Status::InvalidArgument("evaluation parameter '" + expr +
                                   "' refers to another validation's metric, which Strata does not store");
  }
  if (auto it = params.find(expr); it != params.end()) return it->second;
  // Arithmetic: numbers, names, + - * / and parentheses.
  size_t i = 0;
  std::function<Result<double>()> sum;
  auto skip = [&] {
    while (i < expr.size() && expr[i] == ' ') ++i;
  };
  std::function<Result<double>()> atom = [&]() -> Result<double> {
    skip();
    if (i < expr.size() && expr[i] == '(') {
      ++i;
      STRATA_ASSIGN_OR_RETURN(double v, sum());
      skip();
      if (i >= expr.size() || expr[i] != ')')
        return Status::InvalidArgument("evaluation parameter '" + expr + "': ')' missing");
      ++i;
      return v;
    }
    if (i < expr.size() && expr[i] == '-') {
      ++i;
      STRATA_ASSIGN_OR_RETURN(double v, atom());
      return -v;
    }
    size_t j = i;
    while (j < expr.size() && (std::isalnum(static_cast<unsigned char>(expr[j])) || expr[j] == '_' || expr[j] == '.'))
      ++j;
    const std::string word = expr.substr(i, j - i);
    i = j;
    if (word.empty())
      return Status::InvalidArgument("evaluation parameter '" + expr + "' is not an expression Strata reads");
    char* end = nullptr;
    const double v = std::strtod(word.c_str(), &end);
    if (*end == '\0') return v;
    auto it = params.find(word);
    if (it == params.end()) {
      return Status::InvalidArgument("evaluation parameter '" + word +
                                     "' has no value (give it in the checkpoint's "
                                     "evaluation_parameters or with --param)");
    }
    if (!it->second.is_number()) return Status::InvalidArgument("evaluation parameter '" + word + "' is not a number");
    return it->second.get<double>();
  };
  auto product = [&]() -> Result<double> {
    STRATA_ASSIGN_OR_RETURN(double v, atom());
    for (;;) {
      skip();
      if (i >= expr.size() || (expr[i] != '*' && expr[i] != '/')) return v;
      const char op = expr[i++];
      STRATA_ASSIGN_OR_RETURN(double r, atom());
      v = op == '*' ? v * r : v / r;
    }
  };
  sum = [&]() -> Result<double> {
    STRATA_ASSIGN_OR_RETURN(double v, product());
    for (;;) {
      skip();
      if (i >= expr.size() || (expr[i] != '+' && expr[i] != '-')) return v;
      const char op = expr[i++];
      STRATA_ASSIGN_OR_RETURN(double r, product());
      v = op == '+' ? v + r : v - r;
    }
  };
  STRATA_ASSIGN_OR_RETURN(double v, sum());
  skip();
  if (i != expr.size())
    return Status::InvalidArgument("evaluation parameter '" + expr + "' is not an expression Strata reads");
  if (v == std::floor(v) && std::fabs(v) < 9e15) return json(static_cast<int64_t>(v));
  return json(v);
}

Result<json> ResolveParameters(const json& kwargs, const std::map<std::string, json>& params, json* used) {
  json out = kwargs;
  for (auto& [k, v] : out.items()) {
    if (v.is_object() && v.size() == 1 && v.contains("$PARAMETER") && v["$PARAMETER"].is_string()) {
      const std::string expr = v["$PARAMETER"];
      STRATA_ASSIGN_OR_RETURN(json value, EvaluateParameter(expr, params));
      (*used)[expr] = value;
      v = value;
    }
  }
  return out;
}

// ------------------------------------------------------------------ comparing observed values
std::optional<double> Number(const json& v) {
  if (v.is_number()) return v.get<double>();
  return std::nullopt;
}

// Whether `v` lies within [min, max] (null bounds are open); numbers compare as numbers,
// anything else (dates, timestamps, strings) as text.
bool Within(const json& v, const json& min, const json& max, bool strict_min, bool strict_max) {
  if (v.is_null()) return false;
  auto cmp = [&](const json& bound) -> int {
    auto a = Number(v), b = Number(bound);
    if (a && b) return *a < *b ? -1 : *a > *b ? 1 : 0;
    const std::string x = v.is_string() ? v.get<std::string>() : v.dump();
    const std::string y = bound.is_string() ? bound.get<std::string>() : bound.dump();
    return x < y ? -1 : x > y ? 1 : 0;
  };
  if (!min.is_null()) {
    const int c = cmp(min);
    if (c < 0 || (strict_min && c == 0)) return false;
  }
  if (!max.is_null()) {
    const int c = cmp(max);
    if (c > 0 || (strict_max && c == 0)) return false;
  }
  return true;
}

// A column type as GE users write it: upper case, without parameters, with the engines'
// spellings of the same type made one.
std::string CanonicalType(std::string t) {
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::toupper(c); });
  if (size_t p = t.find('('); p != std::string::npos) t = t.substr(0, p);
  while (!t.empty() && t.back() == ' ') t.pop_back();
  static const std::map<std::string, std::string> kSame = {{"INT", "INTEGER"},
                                                           {"INT4", "INTEGER"},
                                                           {"SIGNED", "INTEGER"},
                                                           {"INT8", "BIGINT"},
                                                           {"LONG", "BIGINT"},
                                                           {"INT2", "SMALLINT"},
                                                           {"SHORT", "SMALLINT"},
                                                           {"INT1", "TINYINT"},
                                                           {"FLOAT8", "DOUBLE"},
                                                           {"DOUBLE PRECISION", "DOUBLE"},
                                                           {"DOUBLE_PRECISION", "DOUBLE"},
                                                           {"FLOAT4", "REAL"},
                                                           {"FLOAT", "REAL"},
                                                           {"NUMERIC", "DECIMAL"},
                                                           {"STRING", "VARCHAR"},
                                                           {"CHARACTER VARYING", "VARCHAR"},
                                                           {"BPCHAR", "CHAR"},
                                                           {"BOOL", "BOOLEAN"},
                                                           {"LOGICAL", "BOOLEAN"},
                                                           {"TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"},
                                                           {"DATETIME", "TIMESTAMP"},
                                                           {"TIMESTAMP WITHOUT TIME ZONE", "TIMESTAMP"}};
  if (auto it = kSame.find(t); it != kSame.end()) return it->second;
  return t;
}

// The canonical name of an observed type, for the engine (DuckDB's TEXT is its VARCHAR;
// PostgreSQL's TEXT is a type of its own).
bool TypeMatches(const std::string& wanted, const std::string& observed, bool pg) {
  std::string w = CanonicalType(wanted), o = CanonicalType(observed);
  if (!pg && w == "TEXT") w = "VARCHAR";
  return w == o;
}

// ------------------------------------------------------------------ the plan
// One aggregate scan of the batch for every expectation's counts and statistics.
class Scan {
 public:
  int Add(const std::string& expr, int owner) {
    auto it = index_.find(expr);
    int i;
    if (it != index_.end()) {
      i = it->second;
    } else {
      i = static_cast<int>(exprs_.size());
      exprs_.push_back(expr);
      index_[expr] = i;
    }
    owners_[owner].push_back(i);
    return i;
  }
  const std::vector<std::string>& exprs() const { return exprs_; }
  const std::map<int, std::vector<int>>& owners() const { return owners_; }

 private:
  std::vector<std::string> exprs_;
  std::map<std::string, int> index_;
  std::map<int, std::vector<int>> owners_;  // expectation -> its expressions
};

struct Outcome {
  bool success = false;
  json result = json::object();
};

struct Ctx;

// One expectation on its way through the validation.
struct Pending {
  const Expectation* e = nullptr;
  const ExpectationType* type = nullptr;
  int index = 0;
  json kwargs;
  std::string cond;  // its row condition as SQL ("" = every row of the batch)
  Format format;
  Status error;  // set when it cannot run: reported as exception_info
  // After the scan: the outcome from the scan's values (and any queries of its own).
  std::function<Result<Outcome>(const std::vector<json>& scan, Ctx& ctx)> finish;
};

struct Ctx {
  warehouse::Session* session;
  Dialect d;
  std::string rel;                                           // quoted
  std::string batch;                                         // the batch's filter, "" = all rows
  std::vector<std::pair<std::string, std::string>> columns;  // name, type
  ValidateStats* stats;

  Result<sql::QueryResult> Query(const std::string& sql) {
    ++stats->queries;
    return session->Query(sql);
  }
  std::string From(const std::string& cond) const {
    const std::string where = And(batch, cond);
    return " FROM " + rel + (where.empty() ? "" : " WHERE " + where);
  }
  const std::string* TypeOf(const std::string& column) const {
    for (const auto& [n, t] : columns) {
      if (n == column) return &t;
    }
    return nullptr;
  }
};

// Rows of a query as JSON: one value per row when it has one column, else a list per row.
Result<std::vector<json>> Values(Ctx& ctx, const std::string& sql) {
  STRATA_ASSIGN_OR_RETURN(auto r, ctx.Query(sql));
  std::vector<json> out;
  for (const auto& row : r.rows) {
    if (row.size() == 1) {
      out.push_back(sql::CellJson(row[0], r.column_types[0]));
    } else {
      json list = json::array();
      for (size_t i = 0; i < row.size(); ++i) list.push_back(sql::CellJson(row[i], r.column_types[i]));
      out.push_back(list);
    }
  }
  return out;
}

int64_t Int(const json& v) { return v.is_number() ? v.get<int64_t>() : 0; }

json Percent(int64_t part, int64_t whole) {
  if (whole == 0) return nullptr;
  return 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

// A map expectation: rows `tested` (SQL; "" = all) of which `unexpected` (SQL) fail.
// `shown` is what an unexpected row lists (a column, or columns as a list); `nulls_missing`:
// untested rows are "missing" (the column's nulls), as GE reports them.
struct MapSpec {
  std::string tested;
  std::string unexpected;  // "" when `count_sql` counts them (grouped checks)
  std::string count_sql;   // a query for the unexpected count, run after the scan
  // Run instead when count_sql fails: the order checks' count without the stored order (a
  // view has no rowid or ctid), in the order the relation returns its rows.
  std::string count_sql_unordered;
  std::string shown;
  bool mostly_over_all = false;  // not_be_null / be_null: mostly counts every row
  // Order checks find an unexpected value by its predecessor: counted, not listed.
  bool samples = true;
};

void PlanMap(Pending& p, Scan& scan, const MapSpec& m) {
  const int all = scan.Add(Filtered("count(*)", p.cond), p.index);
  const int tested = scan.Add(Filtered("count(*)", And(p.cond, m.tested)), p.index);
  const int bad =
      m.unexpected.empty() ? -1 : scan.Add(Filtered("count(*)", And(And(p.cond, m.tested), m.unexpected)), p.index);
  p.finish = [all, tested, bad, m, &p](const std::vector<json>& s, Ctx& ctx) -> Result<Outcome> {
    const int64_t element = Int(s[all]);
    const int64_t nonmissing = Int(s[tested]);
    const int64_t missing = element - nonmissing;
    int64_t unexpected = bad >= 0 ? Int(s[bad]) : 0;
    if (bad < 0) {
      auto v = Values(ctx, m.count_sql);
      if (!v.ok() && !m.count_sql_unordered.empty()) v = Values(ctx, m.count_sql_unordered);
      if (!v.ok()) return v.status();
      unexpected = v->empty() ? 0 : Int((*v)[0]);
    }
    const double mostly = p.kwargs.value("mostly", 1.0);
    const int64_t base = m.mostly_over_all ? element : nonmissing;
    Outcome o;
    o.success = base == 0 || static_cast<double>(base - unexpected) / static_cast<double>(base) >= mostly - 1e-12;
    if (p.format.name == "BOOLEAN_ONLY") return o;
    json& r = o.result;
    r["element_count"] = element;
    if (!m.mostly_over_all) {
      r["missing_count"] = missing;
      r["missing_percent"] = Percent(missing, element);
    }
    r["unexpected_count"] = unexpected;
    r["unexpected_percent"] = Percent(unexpected, m.mostly_over_all ? element : nonmissing);
    r["unexpected_percent_total"] = Percent(unexpected, element);
    if (!m.mostly_over_all) r["unexpected_percent_nonmissing"] = Percent(unexpected, nonmissing);
    r["partial_unexpected_list"] = json::array();
    if (!m.samples) return o;
    if (p.format.name != "BASIC") r["partial_unexpected_counts"] = json::array();
    // Samples of what failed: only for failing expectations, bounded.
    if (unexpected == 0 || o.success) return o;
    std::string where = And(p.cond, m.tested);
    if (!m.unexpected.empty()) where = And(where, m.unexpected);
    const std::string from = ctx.From(where);
    auto list = [&](int64_t limit) -> Result<std::vector<json>> {
      if (!m.unexpected.empty()) {
        return Values(ctx, "SELECT " + m.shown + from + " LIMIT " + std::to_string(limit));
      }
      // Grouped (uniqueness): the rows whose key appears more than once, duplicates kept.
      return Values(ctx, "SELECT " + m.shown + " FROM (SELECT " + m.shown + ", count(*) OVER (PARTITION BY " + m.shown +
                             ") AS strata_n" + from + ") t WHERE strata_n > 1 ORDER BY " + m.shown + " LIMIT " +
                             std::to_string(limit));
    };
    if (p.format.partial > 0) {
      STRATA_ASSIGN_OR_RETURN(auto sample, list(p.format.partial));
      r["partial_unexpected_list"] = sample;
    }
    if (p.format.name != "BASIC" && p.format.partial > 0) {
      std::string sql;
      if (!m.unexpected.empty()) {
        sql = "SELECT " + m.shown + ", count(*) AS n" + from + " GROUP BY " + m.shown + " ORDER BY n DESC, " + m.shown +
              " LIMIT " + std::to_string(p.format.partial);
      } else {
        sql = "SELECT " + m.shown + ", count(*) AS n" + from + " GROUP BY " + m.shown +
              " HAVING count(*) > 1 ORDER BY n DESC, " + m.shown + " LIMIT " + std::to_string(p.format.partial);
      }
      STRATA_ASSIGN_OR_RETURN(auto counts, Values(ctx, sql));
      json list_counts = json::array();
      for (const auto& row : counts) {
        json value = row.size() == 2 ? row[0] : json(std::vector<json>(row.begin(), row.end() - 1));
        list_counts.push_back({{"value", value}, {"count", row.back()}});
      }
      r["partial_unexpected_counts"] = list_counts;
    }
    if (p.format.name == "COMPLETE") {
      STRATA_ASSIGN_OR_RETURN(auto all_rows, list(kCompleteLimit));
      r["unexpected_list"] = all_rows;
    }
    return o;
  };
}

// An aggregate expectation: the outcome from a statistic (`observed`, a scan value) checked
// with `check`.
void PlanAggregate(Pending& p, Scan& scan, const std::string& expr,
                   std::function<Result<Outcome>(const json& observed, Ctx& ctx)> check) {
  const int i = scan.Add(expr, p.index);
  p.finish = [i, check](const std::vector<json>& s, Ctx& ctx) { return check(s[i], ctx); };
}

Outcome Observed(bool success, json observed) {
  Outcome o;
  o.success = success;
  o.result = {{"observed_value", std::move(observed)}};
  return o;
}

Outcome BetweenOutcome(const Pending& p, const json& observed) {
  const json& k = p.kwargs;
  return Observed(Within(observed, k.value("min_value", json()), k.value("max_value", json()),
                         k.value("strict_min", false), k.value("strict_max", false)),
                  observed);
}

std::string InList(const Dialect& d, const std::string& c, const json& set) {
  std::string list;
  for (const auto& v : set) {
    if (v.is_null()) continue;
    list += (list.empty() ? "" : ", ") + d.Literal(v);
  }
  return list.empty() ? "FALSE" : "(" + c + " IN (" + list + "))";
}

std::string Joined(const std::vector<std::string>& parts, const char* op, const char* empty) {
  if (parts.empty()) return empty;
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : op) + p;
  return "(" + out + ")";
}

// Plans `p` (sets finish or error).
Status Plan(Pending& p, Scan& scan, Ctx& ctx) {
  const Dialect& d = ctx.d;
  const json& k = p.kwargs;
  const std::string t = p.type->name;
  auto column = [&](const char* key) -> Result<std::string> {
    const std::string name = k.at(key);
    if (ctx.TypeOf(name) == nullptr) {
      return Status::NotFound("column '" + name + "' does not exist in " + ctx.rel);
    }
    return d.Quote(name);
  };

  // --- table ---------------------------------------------------------------------------
  if (t == "expect_table_row_count_to_be_between" || t == "expect_table_row_count_to_equal") {
    PlanAggregate(p, scan, Filtered("count(*)", p.cond), [&p, t](const json& n, Ctx&) -> Result<Outcome> {
      if (t == "expect_table_row_count_to_equal") return Observed(n == p.kwargs["value"], n);
      return BetweenOutcome(p, n);
    });
    return Status::OK();
  }
  if (t == "expect_table_row_count_to_equal_other_table") {
    const int i = scan.Add(Filtered("count(*)", p.cond), p.index);
    p.finish = [i, &p](const std::vector<json>& s, Ctx& ctx) -> Result<Outcome> {
      STRATA_ASSIGN_OR_RETURN(auto other,
                              Values(ctx, "SELECT count(*) FROM " + ctx.d.Relation(p.kwargs["other_table_name"])));
      const json self = s[i];
      const json theirs = other.empty() ? json() : other[0];
      return Observed(self == theirs, {{"self", self}, {"other", theirs}});
    };
    return Status::OK();
  }
  if (t == "expect_table_column_count_to_be_between" || t == "expect_table_column_count_to_equal" ||
      t == "expect_table_columns_to_match_set" || t == "expect_table_columns_to_match_ordered_list" ||
      t == "expect_column_to_exist") {
    p.finish = [&p, t](const std::vector<json>&, Ctx& ctx) -> Result<Outcome> {
      std::vector<std::string> names;
      for (const auto& [n, type] : ctx.columns) names.push_back(n);
      const json& k = p.kwargs;
      if (t == "expect_table_column_count_to_be_between") return BetweenOutcome(p, json(names.size()));
      if (t == "expect_table_column_count_to_equal") return Observed(json(names.size()) == k["value"], names.size());
      if (t == "expect_column_to_exist") {
        const std::string c = k["column"];
        auto it = std::find(names.begin(), names.end(), c);
        bool ok = it != names.end();
        if (ok && k.contains("column_index") && !k["column_index"].is_null()) {
          ok = static_cast<int64_t>(it - names.begin()) == k["column_index"].get<int64_t>();
        }
        Outcome o;
        o.success = ok;
        return o;
      }
      if (t == "expect_table_columns_to_match_ordered_list") {
        const std::vector<std::string> want = k["column_list"];
        Outcome o = Observed(want == names, names);
        if (!o.success) {
          json mismatched = json::array();
          for (size_t i = 0; i < std::max(want.size(), names.size()); ++i) {
            const json expected = i < want.size() ? json(want[i]) : json();
            const json found = i < names.size() ? json(names[i]) : json();
            if (expected != found)
              mismatched.push_back({{"Expected Column Position", i}, {"Expected", expected}, {"Found", found}});
          }
          o.result["details"] = {{"mismatched", mismatched}};
        }
        return o;
      }
      // columns_to_match_set
      const std::vector<std::string> want_list = k["column_set"];
      const std::set<std::string> want(want_list.begin(), want_list.end()), have(names.begin(), names.end());
      std::vector<std::string> missing, extra;
      std::set_difference(want.begin(), want.end(), have.begin(), have.end(), std::back_inserter(missing));
      std::set_difference(have.begin(), have.end(), want.begin(), want.end(), std::back_inserter(extra));
      const bool exact = k.value("exact_match", true);
      Outcome o = Observed(missing.empty() && (!exact || extra.empty()), names);
      if (!missing.empty() || !extra.empty()) {
        o.result["details"] = {{"mismatched", {{"unexpected", extra}, {"missing", missing}}}};
      }
      return o;
    };
    return Status::OK();
  }

  // --- multicolumn -----------------------------------------------------------------------
  if (p.type->kind == Kind::kMulticolumnMap) {
    MapSpec m;
    if (k.contains("column_A")) {
      STRATA_ASSIGN_OR_RETURN(std::string a, column("column_A"));
      STRATA_ASSIGN_OR_RETURN(std::string b, column("column_B"));
      const std::string ignore = k.value("ignore_row_if", std::string("both_values_are_missing"));
      m.tested = ignore == "both_values_are_missing"   ? "NOT (" + a + " IS NULL AND " + b + " IS NULL)"
                 : ignore == "either_value_is_missing" ? a + " IS NOT NULL AND " + b + " IS NOT NULL"
                                                       : "";
      m.unexpected = t == "expect_column_pair_values_to_be_equal"
                         ? "(" + a + " = " + b + ") IS NOT TRUE"
                         : "(" + a + (k.value("or_equal", false) ? " >= " : " > ") + b + ") IS NOT TRUE";
      m.shown = a + ", " + b;
    } else {
      std::vector<std::string> cols;
      for (const auto& name : k["column_list"]) {
        if (ctx.TypeOf(name) == nullptr)
          return Status::NotFound("column '" + name.get<std::string>() + "' does not exist in " + ctx.rel);
        cols.push_back(d.Quote(name));
      }
      std::vector<std::string> nulls, sums, pairs;
      for (const auto& c : cols) {
        nulls.push_back(c + " IS NULL");
        sums.push_back("coalesce(" + c + ", 0)");
      }
      for (size_t i = 0; i < cols.size(); ++i) {
        for (size_t j = i + 1; j < cols.size(); ++j) pairs.push_back("(" + cols[i] + " = " + cols[j] + ") IS TRUE");
      }
      const std::string ignore = k.value("ignore_row_if", std::string("all_values_are_missing"));
      m.tested = ignore == "all_values_are_missing" ? "NOT " + Joined(nulls, " AND ", "FALSE")
                 : ignore == "any_value_is_missing" ? "NOT " + Joined(nulls, " OR ", "FALSE")
                                                    : "";
      m.shown = Joined(cols, ", ", "");
      m.shown = m.shown.substr(1, m.shown.size() - 2);
      if (t == "expect_compound_columns_to_be_unique") {
        m.count_sql = "SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n" + ctx.From(And(p.cond, m.tested)) +
                      " GROUP BY " + m.shown + " HAVING count(*) > 1) t";
      } else if (t == "expect_select_column_values_to_be_unique_within_record") {
        m.unexpected = Joined(pairs, " OR ", "FALSE");
      } else {  // multicolumn sum
        m.unexpected = "(" + Joined(sums, " + ", "0") + " = " + d.Literal(k["sum_total"]) + ") IS NOT TRUE";
      }
    }
    PlanMap(p, scan, m);
    return Status::OK();
  }

  STRATA_ASSIGN_OR_RETURN(std::string c, column("column"));
  const std::string type = *ctx.TypeOf(k["column"]);

  // --- column map -------------------------------------------------------------------------
  if (p.type->kind == Kind::kColumnMap) {
    MapSpec m;
    m.tested = c + " IS NOT NULL";
    m.shown = c;
    if (t == "expect_column_values_to_not_be_null") {
      m.tested = "";
      m.unexpected = c + " IS NULL";
      m.mostly_over_all = true;
    } else if (t == "expect_column_values_to_be_null") {
      m.tested = "";
      m.unexpected = c + " IS NOT NULL";
      m.mostly_over_all = true;
    } else if (t == "expect_column_values_to_be_unique") {
      m.count_sql = "SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n" + ctx.From(And(p.cond, m.tested)) +
                    " GROUP BY " + c + " HAVING count(*) > 1) t";
    } else if (t == "expect_column_values_to_be_in_set") {
      m.unexpected = "NOT " + InList(d, c, k["value_set"]);
    } else if (t == "expect_column_values_to_not_be_in_set") {
      m.unexpected = InList(d, c, k["value_set"]);
    } else if (t == "expect_column_values_to_be_between" || t == "expect_column_value_lengths_to_be_between") {
      const std::string v = t == "expect_column_values_to_be_between" ? c : "length(" + d.Text(c) + ")";
      std::vector<std::string> ok;
      if (k.contains("min_value") && !k["min_value"].is_null()) {
        ok.push_back(v + (k.value("strict_min", false) ? " > " : " >= ") + d.Literal(k["min_value"]));
      }
      if (k.contains("max_value") && !k["max_value"].is_null()) {
        ok.push_back(v + (k.value("strict_max", false) ? " < " : " <= ") + d.Literal(k["max_value"]));
      }
      m.unexpected = Joined(ok, " AND ", "TRUE") + " IS NOT TRUE";
    } else if (t == "expect_column_value_lengths_to_equal") {
      m.unexpected = "length(" + d.Text(c) + ") <> " + d.Literal(k["value"]);
    } else if (t == "expect_column_values_to_match_regex") {
      m.unexpected = "NOT " + d.Regex(c, k["regex"]);
    } else if (t == "expect_column_values_to_not_match_regex") {
      m.unexpected = d.Regex(c, k["regex"]);
    } else if (t == "expect_column_values_to_match_like_pattern") {
      m.unexpected = "NOT " + d.Like(c, k["like_pattern"]);
    } else if (t == "expect_column_values_to_not_match_like_pattern") {
      m.unexpected = d.Like(c, k["like_pattern"]);
    } else if (t.find("_list") != std::string::npos &&
               (t.find("regex") != std::string::npos || t.find("like") != std::string::npos)) {
      const bool regex = t.find("regex") != std::string::npos;
      std::vector<std::string> tests;
      for (const auto& pattern : k[regex ? "regex_list" : "like_pattern_list"]) {
        tests.push_back(regex ? d.Regex(c, pattern) : d.Like(c, pattern));
      }
      const bool negative = t.find("_not_") != std::string::npos;
      const bool all = k.value("match_on", std::string("any")) == "all";
      m.unexpected =
          negative ? Joined(tests, " OR ", "FALSE") : "NOT " + Joined(tests, all ? " AND " : " OR ", "FALSE");
    } else if (t == "expect_column_values_to_match_strftime_format") {
      const std::string fmt = k["strftime_format"];
      if (d.pg) {
        STRATA_ASSIGN_OR_RETURN(auto pg, StrftimeForPg(fmt));
        m.unexpected = "NOT (" + d.Regex(c, pg.first) + " AND pg_temp.strata_time_valid(" + d.Text(c) + ", " +
                       d.Literal(pg.second) + "))";
      } else {
        m.unexpected = "try_strptime(" + d.Text(c) + ", " + d.Literal(fmt) + ") IS NULL";
      }
    } else if (t == "expect_column_values_to_be_json_parseable") {
      m.unexpected = d.pg ? "NOT pg_temp.strata_json_valid(" + d.Text(c) + ")" : "NOT json_valid(" + d.Text(c) + ")";
    } else if (t == "expect_column_values_to_be_increasing" || t == "expect_column_values_to_be_decreasing") {
      const bool up = t == "expect_column_values_to_be_increasing";
      const std::string op = k.value("strictly", false) ? (up ? " > " : " < ") : (up ? " >= " : " <= ");
      // In the relation's stored order (rowid / ctid), over its non-null values.
      auto count = [&](const std::string& over) {
        return "SELECT count(*) FROM (SELECT " + c + " AS v, lag(" + c + ") OVER (" + over + ") AS prev" +
               ctx.From(And(p.cond, m.tested)) + ") t WHERE prev IS NOT NULL AND NOT (v" + op + "prev)";
      };
      m.count_sql = count(d.pg ? "ORDER BY ctid" : "ORDER BY rowid");
      m.count_sql_unordered = count("");
      m.samples = false;
    } else {
      return Status::Internal("no plan for " + t);
    }
    PlanMap(p, scan, m);
    return Status::OK();
  }

  // --- column aggregate -------------------------------------------------------------------
  const std::string nonnull = And(p.cond, c + " IS NOT NULL");
  if (t == "expect_column_values_to_be_of_type" || t == "expect_column_values_to_be_in_type_list") {
    const bool pg = d.pg;
    p.finish = [&p, type, t, pg](const std::vector<json>&, Ctx&) -> Result<Outcome> {
      bool ok = false;
      if (t == "expect_column_values_to_be_of_type") {
        ok = TypeMatches(p.kwargs["type_"], type, pg);
      } else {
        for (const auto& w : p.kwargs["type_list"]) ok = ok || TypeMatches(w, type, pg);
      }
      return Observed(ok, type);
    };
    return Status::OK();
  }
  if (t == "expect_column_mean_to_be_between" || t == "expect_column_stdev_to_be_between" ||
      t == "expect_column_sum_to_be_between" || t == "expect_column_min_to_be_between" ||
      t == "expect_column_max_to_be_between" || t == "expect_column_median_to_be_between" ||
      t == "expect_column_unique_value_count_to_be_between") {
    const std::string f = t == "expect_column_mean_to_be_between"     ? "avg(" + c + ")"
                          : t == "expect_column_stdev_to_be_between"  ? "stddev_samp(" + c + ")"
                          : t == "expect_column_sum_to_be_between"    ? "sum(" + c + ")"
                          : t == "expect_column_min_to_be_between"    ? "min(" + c + ")"
                          : t == "expect_column_max_to_be_between"    ? "max(" + c + ")"
                          : t == "expect_column_median_to_be_between" ? d.Quantile(c, 0.5, true)
                                                                      : "count(DISTINCT " + c + ")";
    // Statistics in double precision (PostgreSQL's numeric averages carry 20 digits).
    const bool numeric = t != "expect_column_min_to_be_between" && t != "expect_column_max_to_be_between" &&
                         t != "expect_column_unique_value_count_to_be_between";
    const std::string expr = Filtered(f, p.cond);
    PlanAggregate(p, scan, numeric ? "CAST(" + expr + " AS " + d.Double() + ")" : expr,
                  [&p](const json& v, Ctx&) -> Result<Outcome> { return BetweenOutcome(p, v); });
    return Status::OK();
  }
  if (t == "expect_column_proportion_of_unique_values_to_be_between") {
    const int u = scan.Add(Filtered("count(DISTINCT " + c + ")", p.cond), p.index);
    const int n = scan.Add(Filtered("count(" + c + ")", p.cond), p.index);
    p.finish = [u, n, &p](const std::vector<json>& s, Ctx&) -> Result<Outcome> {
      const json observed = Int(s[n]) == 0 ? json() : json(static_cast<double>(Int(s[u])) / Int(s[n]));
      return BetweenOutcome(p, observed);
    };
    return Status::OK();
  }
  if (t == "expect_column_quantile_values_to_be_between") {
    std::vector<int> idx;
    for (const auto& q : k["quantile_ranges"]["quantiles"]) {
      idx.push_back(scan.Add(
          "CAST(" + Filtered(d.Quantile(c, q.get<double>(), false), p.cond) + " AS " + d.Double() + ")", p.index));
    }
    p.finish = [idx, &p](const std::vector<json>& s, Ctx&) -> Result<Outcome> {
      const json& ranges = p.kwargs["quantile_ranges"];
      json values = json::array();
      bool ok = true;
      json details = json::array();
      for (size_t i = 0; i < idx.size(); ++i) {
        values.push_back(s[idx[i]]);
        const bool in = Within(s[idx[i]], ranges["value_ranges"][i][0], ranges["value_ranges"][i][1], false, false);
        ok = ok && in;
        if (!in) details.push_back(ranges["quantiles"][i]);
      }
      Outcome o = Observed(ok, {{"quantiles", ranges["quantiles"]}, {"values", values}});
      o.result["details"] = {{"success_details", json::array()}};
      for (size_t i = 0; i < idx.size(); ++i) {
        o.result["details"]["success_details"].push_back(
            Within(s[idx[i]], ranges["value_ranges"][i][0], ranges["value_ranges"][i][1], false, false));
      }
      return o;
    };
    return Status::OK();
  }
  if (t == "expect_column_distinct_values_to_be_in_set" || t == "expect_column_distinct_values_to_contain_set" ||
      t == "expect_column_distinct_values_to_equal_set") {
    const json& set = k["value_set"];
    std::set<std::string> members;
    for (const auto& v : set) {
      if (!v.is_null()) members.insert(v.dump());
    }
    const int outside =
        scan.Add("count(DISTINCT " + c + ") FILTER (WHERE " + And(nonnull, "NOT " + InList(d, c, set)) + ")", p.index);
    const int inside =
        scan.Add("count(DISTINCT " + c + ") FILTER (WHERE " + And(nonnull, InList(d, c, set)) + ")", p.index);
    const size_t wanted = members.size();
    p.finish = [outside, inside, wanted, t, c, nonnull, &p](const std::vector<json>& s, Ctx& ctx) -> Result<Outcome> {
      const bool in_set = Int(s[outside]) == 0;
      const bool contains = static_cast<size_t>(Int(s[inside])) == wanted;
      const bool ok = t == "expect_column_distinct_values_to_be_in_set"     ? in_set
                      : t == "expect_column_distinct_values_to_contain_set" ? contains
                                                                            : in_set && contains;
      if (p.format.name == "BOOLEAN_ONLY") return Observed(ok, nullptr);
      STRATA_ASSIGN_OR_RETURN(auto values, Values(ctx, "SELECT DISTINCT " + c + ctx.From(nonnull) +
                                                           " ORDER BY 1 LIMIT " + std::to_string(kDistinctLimit + 1)));
      Outcome o = Observed(ok, nullptr);
      const bool more = values.size() > static_cast<size_t>(kDistinctLimit);
      if (more) values.resize(kDistinctLimit);
      o.result["observed_value"] = values;
      if (more) o.result["details"] = {{"observed_value_truncated_at", kDistinctLimit}};
      return o;
    };
    return Status::OK();
  }
  if (t == "expect_column_most_common_value_to_be_in_set") {
    p.finish = [c, nonnull, &p](const std::vector<json>&, Ctx& ctx) -> Result<Outcome> {
      STRATA_ASSIGN_OR_RETURN(auto modes, Values(ctx, "WITH g AS (SELECT " + c + " AS v, count(*) AS n" +
                                                          ctx.From(nonnull) + " GROUP BY " + c +
                                                          ") SELECT v FROM g WHERE n = (SELECT max(n) FROM g) "
                                                          "ORDER BY v"));
      // Membership as GE tests it: equal values of the same JSON type ("1" is not 1).
      int found = 0;
      for (const auto& m : modes) {
        for (const auto& v : p.kwargs["value_set"]) {
          auto a = Number(m), b = Number(v);
          if ((a && b && *a == *b) || (!a && !b && m == v)) {
            ++found;
            break;
          }
        }
      }
      const bool ok = p.kwargs.value("ties_okay", false) ? found > 0 : (modes.size() == 1 && found == 1);
      return Observed(ok, modes);
    };
    return Status::OK();
  }
  return Status::Internal("no plan for " + t);
}

// Now as ISO 8601 in UTC, to the microsecond ("2024-01-02T03:04:05.123456Z").
std::string IsoNow() {
  std::string t = FormatTimestampMicros(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  t[10] = 'T';
  return t + "Z";
}

json ExceptionInfo(const Status& s) {
  if (s.ok()) return {{"raised_exception", false}, {"exception_message", nullptr}, {"exception_traceback", nullptr}};
  return {{"raised_exception", true}, {"exception_message", s.message()}, {"exception_traceback", nullptr}};
}

// Runs the scan; when it fails, each expectation's part alone, so that one expectation's
// error (a bad regex, a type mismatch) fails only that one.
std::vector<json> RunScan(Ctx& ctx, const Scan& scan, std::vector<Pending>& pending) {
  std::vector<json> values(scan.exprs().size());
  if (scan.exprs().empty()) return values;
  auto run = [&](const std::vector<int>& which) -> Status {
    std::string sql = "SELECT ";
    for (size_t i = 0; i < which.size(); ++i) {
      sql += (i ? ", " : "") + scan.exprs()[which[i]] + " AS m" + std::to_string(which[i]);
    }
    sql += ctx.From("");
    STRATA_ASSIGN_OR_RETURN(auto r, ctx.Query(sql));
    if (r.rows.size() != 1) return Status::Internal("the scan returned " + std::to_string(r.rows.size()) + " rows");
    for (size_t i = 0; i < which.size(); ++i) values[which[i]] = sql::CellJson(r.rows[0][i], r.column_types[i]);
    return Status::OK();
  };
  std::vector<int> all(scan.exprs().size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  Status s = run(all);
  if (s.ok()) return values;
  for (const auto& [owner, exprs] : scan.owners()) {
    Status own = run(exprs);
    for (auto& p : pending) {
      if (p.index == owner && !own.ok() && p.error.ok()) p.error = own;
    }
  }
  return values;
}

}  // namespace

std::string QuoteRelation(const std::string& relation) { return Dialect{}.Relation(relation); }

Result<json> Validate(warehouse::Session* session, const Suite& suite, const Batch& batch,
                      const ValidateOptions& options, ValidateStats* stats) {
  ValidateStats local;
  if (stats == nullptr) stats = &local;
  const auto started = std::chrono::steady_clock::now();
  Ctx ctx{session, Dialect{session->engine() == "postgres"}, "", "", {}, stats};
  ctx.rel = batch.query.empty() ? ctx.d.Relation(batch.relation) : "(" + batch.query + ") AS strata_batch";
  ctx.batch = batch.filter;
  // The columns, from a query that reads no rows.
  {
    auto r = ctx.Query("SELECT * FROM " + ctx.rel + " LIMIT 0");
    if (!r.ok())
      return r.status().WithContext("reading the columns of " +
                                    (batch.query.empty() ? batch.relation : "the batch's query"));
    for (size_t i = 0; i < r->columns.size(); ++i) ctx.columns.emplace_back(r->columns[i], r->column_types[i]);
  }
  if (ctx.d.pg) {
    bool helpers = false;
    for (const auto& e : suite.expectations) {
      helpers = helpers || e.type == "expect_column_values_to_be_json_parseable" ||
                e.type == "expect_column_values_to_match_strftime_format";
    }
    if (helpers) {
      ++stats->queries;
      STRATA_RETURN_IF_ERROR(session->Execute(kPgHelpers));
    }
  }
  json used_parameters = json::object();
  std::vector<Pending> pending(suite.expectations.size());
  Scan scan;
  for (size_t i = 0; i < suite.expectations.size(); ++i) {
    Pending& p = pending[i];
    p.e = &suite.expectations[i];
    p.index = static_cast<int>(i);
    p.type = FindExpectationType(p.e->type);
    if (p.type == nullptr) {
      p.error = Status::InvalidArgument("unknown expectation type '" + p.e->type + "'");
      continue;
    }
    auto kwargs = ResolveParameters(p.e->kwargs, options.evaluation_parameters, &used_parameters);
    if (!kwargs.ok()) {
      p.error = kwargs.status();
      continue;
    }
    p.kwargs = *kwargs;
    if (Status ok = CheckKwargs(*p.type, p.kwargs); !ok.ok()) {
      p.error = ok;
      continue;
    }
    p.format = ParseFormat(p.kwargs.contains("result_format") ? p.kwargs["result_format"] : options.result_format);
    if (p.kwargs.contains("row_condition") && p.kwargs["row_condition"].is_string() &&
        !p.kwargs["row_condition"].get<std::string>().empty()) {
      auto cond = RowConditionSql(p.kwargs["row_condition"], p.kwargs.value("condition_parser", std::string()),
                                  session->engine());
      if (!cond.ok()) {
        p.error = cond.status();
        continue;
      }
      p.cond = *cond;
    }
    p.error = Plan(p, scan, ctx);
  }
  const std::vector<json> values = RunScan(ctx, scan, pending);

  json results = json::array();
  int evaluated = 0, successful = 0;
  for (auto& p : pending) {
    Outcome o;
    Status error = p.error;
    if (error.ok() && p.finish) {
      auto r = p.finish(values, ctx);
      if (r.ok()) {
        o = std::move(*r);
      } else {
        error = r.status();
      }
    }
    const bool catch_it = p.kwargs.is_object() && p.kwargs.contains("catch_exceptions")
                              ? p.kwargs["catch_exceptions"].get<bool>()
                              : options.catch_exceptions;
    if (!error.ok() && !catch_it) return error.WithContext(p.e->where + ": " + p.e->type);
    if (!error.ok()) {
      o.success = false;
      o.result = json::object();
    }
    if (p.format.name == "BOOLEAN_ONLY") o.result = json::object();
    ++evaluated;
    if (o.success) ++successful;
    results.push_back({{"success", o.success},
                       {"expectation_config", p.e->Config()},
                       {"result", o.result},
                       {"meta", json::object()},
                       {"exception_info", ExceptionInfo(error)}});
  }
  stats->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string run_time = options.run_time.empty() ? IsoNow() : options.run_time;
  const std::string run_name = options.run_name.empty() ? run_time : options.run_name;
  json meta = {{"great_expectations_version", kGeVersion},
               {"expectation_suite_name", suite.name},
               {"run_id", {{"run_name", run_name}, {"run_time", run_time}}},
               {"batch_spec", {{"table_name", batch.relation}, {"batch_filter", batch.filter}}},
               {"batch_markers", {{"ge_load_time", run_time}}},
               {"active_batch_definition",
                {{"datasource_name", batch.datasource},
                 {"data_connector_name", "strata"},
                 {"data_asset_name", batch.relation},
                 {"batch_identifiers", json::object()}}},
               {"validation_time", run_time},
               {"strata", {{"queries", stats->queries}, {"seconds", stats->seconds}, {"engine", session->engine()}}}};
  if (!options.checkpoint_name.empty()) meta["checkpoint_name"] = options.checkpoint_name;
  return json{{"success", successful == evaluated},
              {"results", results},
              {"evaluation_parameters", used_parameters},
              {"statistics",
               {{"evaluated_expectations", evaluated},
                {"successful_expectations", successful},
                {"unsuccessful_expectations", evaluated - successful},
                {"success_percent", evaluated == 0 ? json() : json(100.0 * successful / evaluated)}}},
              {"meta", meta}};
}

}  // namespace strata::quality
