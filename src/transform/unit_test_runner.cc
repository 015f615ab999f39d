#include "transform/unit_test_runner.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "core/file.h"
#include "core/strings.h"
#include "transform/dbt_context.h"
#include "transform/materialize.h"

namespace strata::transform {

using nlohmann::json;

namespace {

// Rows of a `given` or `expect` entry. Values are JSON (dict rows) or strings/nulls (CSV).
struct Fixture {
  std::vector<std::string> columns;               // in first-seen order
  std::vector<std::map<std::string, json>> rows;  // lower-cased column -> value
  bool from_csv = false;
  std::string sql;  // format: sql
  bool is_sql = false;
};

Result<std::string> ReadFixtureFile(const LoadedProject& p, const std::string& name, const std::string& ext,
                                    const std::string& where) {
  std::vector<std::string> tried;
  for (const auto& tp : p.project.test_paths) {
    std::string path = p.project.root + "/" + tp + "/fixtures/" + name + "." + ext;
    if (std::filesystem::exists(path)) return ReadFile(path);
    tried.push_back(tp + "/fixtures/" + name + "." + ext);
  }
  std::string list;
  for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
  return Status::InvalidArgument(where + ": fixture '" + name + "' not found (looked for " + list + ")");
}

Result<Fixture> ReadRows(const LoadedProject& p, const json& entry, const std::string& where) {
  Fixture f;
  std::string format = entry.value("format", std::string("dict"));
  bool has_fixture = entry.contains("fixture") && entry["fixture"].is_string();
  const json rows = entry.contains("rows") ? entry["rows"] : json();
  if (format == "sql") {
    f.is_sql = true;
    if (has_fixture) {
      STRATA_ASSIGN_OR_RETURN(f.sql, ReadFixtureFile(p, entry["fixture"].get<std::string>(), "sql", where));
    } else if (rows.is_string()) {
      f.sql = rows.get<std::string>();
    } else {
      return Status::InvalidArgument(where + ": format sql needs `rows` as a SQL query (or a `fixture`)");
    }
    f.sql = std::string(TrimSqlEnd(f.sql));
    return f;
  }
  auto add_column = [&f](const std::string& name) {
    for (const auto& c : f.columns) {
      if (AsciiLower(c) == AsciiLower(name)) return;
    }
    f.columns.push_back(name);
  };
  if (format == "csv") {
    std::string text;
    if (has_fixture) {
      STRATA_ASSIGN_OR_RETURN(text, ReadFixtureFile(p, entry["fixture"].get<std::string>(), "csv", where));
    } else if (rows.is_string()) {
      text = rows.get<std::string>();
    } else {
      return Status::InvalidArgument(where + ": format csv needs `rows` as CSV text with a header (or a `fixture`)");
    }
    auto parsed = ParseCsv(text);
    if (!parsed.ok()) return Status::InvalidArgument(where + ": " + parsed.status().message());
    f.from_csv = true;
    if (parsed->empty()) return f;
    const auto& header = (*parsed)[0];
    for (const auto& h : header) add_column(h.value_or(""));
    for (size_t i = 1; i < parsed->size(); ++i) {
      const auto& fields = (*parsed)[i];
      if (fields.size() != header.size()) {
        return Status::InvalidArgument(where + ": CSV row " + std::to_string(i + 1) + " has " +
                                       std::to_string(fields.size()) + " fields, the header has " +
                                       std::to_string(header.size()));
      }
      std::map<std::string, json> row;
      for (size_t c = 0; c < fields.size(); ++c)
        row[AsciiLower(header[c].value_or(""))] = fields[c] ? json(*fields[c]) : json();
      f.rows.push_back(std::move(row));
    }
    return f;
  }
  if (format != "dict") return Status::InvalidArgument(where + ": unknown format '" + format + "' (dict, csv or sql)");
  if (rows.is_null()) return f;
  if (!rows.is_array()) return Status::InvalidArgument(where + ": `rows` must be a list of {column: value} maps");
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].is_object()) {
      return Status::InvalidArgument(where + ": row " + std::to_string(i + 1) + " is not a {column: value} map");
    }
    std::map<std::string, json> row;
    for (const auto& [k, v] : rows[i].items()) {
      add_column(k);
      row[AsciiLower(k)] = v;
    }
    f.rows.push_back(std::move(row));
  }
  return f;
}

bool LooksNumeric(const std::string& s) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  bool digit = false, dot = false;
  for (; i < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i]))) {
      digit = true;
    } else if (s[i] == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digit;
}

std::string Literal(const json& v, bool from_csv, bool typed) {
  if (v.is_null()) return "NULL";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number()) return v.dump();
  if (v.is_string()) {
    const std::string& s = v.get<std::string>();
    // Untyped CSV text: numbers as numbers, so that an input without a relation still sums.
    if (from_csv && !typed && LooksNumeric(s)) return s;
    return duck::QuoteLiteral(s);
  }
  return duck::QuoteLiteral(v.dump());  // lists and maps: their JSON text
}

using ColumnList = std::vector<std::pair<std::string, std::string>>;  // (name, type)

// The SELECT producing the fixture's rows. With `types` (the relation's columns), every column
// of the relation is produced, cast to its type, NULL when the row leaves it out.
Result<std::string> FixtureSql(const Fixture& f, const ColumnList& types, const std::string& what) {
  if (f.is_sql) return f.sql;
  std::vector<std::pair<std::string, std::string>> cols = types;
  if (types.empty()) {
    if (f.columns.empty()) {
      return Status::InvalidArgument(what +
                                     " has no rows, and there is no relation in the warehouse to take its "
                                     "columns from: give at least one row, or use format: sql");
    }
    for (const auto& c : f.columns) cols.emplace_back(c, "");
  } else {
    for (const auto& c : f.columns) {
      bool found = false;
      for (const auto& [name, type] : types) found |= AsciiLower(name) == AsciiLower(c);
      if (!found) {
        std::string list;
        for (const auto& [name, type] : types) list += (list.empty() ? "" : ", ") + name;
        return Status::InvalidArgument(what + " gives column '" + c + "', which it does not have (columns: " + list +
                                       ")");
      }
    }
  }
  auto select = [&](const std::map<std::string, json>* row) {
    std::string s = "select ";
    for (size_t i = 0; i < cols.size(); ++i) {
      const auto& [name, type] = cols[i];
      json v;
      if (row != nullptr) {
        auto it = row->find(AsciiLower(name));
        if (it != row->end()) v = it->second;
      }
      std::string lit = Literal(v, f.from_csv, !type.empty());
      s += (i ? ", " : "") + (type.empty() ? lit : "cast(" + lit + " as " + type + ")") + " as " +
           duck::QuoteIdent(name);
    }
    return s;
  };
  if (f.rows.empty()) return select(nullptr) + " where false";
  std::string sql;
  for (size_t i = 0; i < f.rows.size(); ++i) sql += (i ? "\nunion all " : "") + select(&f.rows[i]);
  return sql;
}

std::string InputText(const Node& n) {
  if (n.type == NodeType::kSource && n.fqn.size() >= 2) {
    return "source('" + n.fqn[n.fqn.size() - 2] + "', '" + n.name + "')";
  }
  return "ref('" + n.name + "')";
}

// A fixed-width table of the differing rows, "+" for rows the model produced that were not
// expected, "-" for expected rows it did not produce.
std::string DiffTable(const sql::QueryResult& r, size_t max_rows) {
  std::vector<size_t> width(r.columns.size(), 0);
  for (size_t c = 0; c < r.columns.size(); ++c) width[c] = c == 0 ? 1 : r.columns[c].size();
  size_t n = std::min(r.rows.size(), max_rows);
  for (size_t i = 0; i < n; ++i) {
    for (size_t c = 0; c < r.columns.size(); ++c) width[c] = std::max(width[c], r.rows[i][c].value_or("null").size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t c = 0; c < cells.size(); ++c) {
      s += (c ? " | " : "") + cells[c] + std::string(width[c] - std::min(width[c], cells[c].size()), ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  std::vector<std::string> header = r.columns;
  header[0] = " ";
  std::string out = line(header);
  for (size_t i = 0; i < n; ++i) {
    std::vector<std::string> cells;
    for (const auto& cell : r.rows[i]) cells.push_back(cell.value_or("null"));
    out += line(cells);
  }
  if (r.rows.size() > n) out += "... " + std::to_string(r.rows.size() - n) + " more\n";
  return out;
}

}  // namespace

Result<std::vector<std::vector<std::optional<std::string>>>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::vector<std::optional<std::string>> row;
  std::string field;
  bool quoted = false, in_quotes = false, any = false;
  int line = 1;
  auto end_field = [&] {
    // Surrounding spaces of unquoted fields go (YAML block scalars indent them).
    if (!quoted) {
      field.erase(0, field.find_first_not_of(" \t"));
      field.erase(field.find_last_not_of(" \t") + 1);
    }
    if (!quoted && field.empty()) {
      row.push_back(std::nullopt);
    } else {
      row.push_back(field);
    }
    field.clear();
    quoted = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      in_quotes = quoted = true;
      any = true;
    } else if (c == ',') {
      end_field();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) {
        end_field();
        rows.push_back(std::move(row));
      }
      row.clear();
      any = false;
      ++line;
    } else {
      field.push_back(c);
      if (c != ' ' && c != '\t') any = true;
    }
  }
  if (in_quotes) return Status::InvalidArgument("CSV line " + std::to_string(line) + ": unterminated quoted field");
  if (any || !field.empty()) {
    end_field();
    rows.push_back(std::move(row));
  }
  return rows;
}

Status RunUnitTest(const LoadedProject& project, warehouse::Session* conn, const Node& node, NodeResult* r) {
  auto fail = [r](const std::string& message) {
    r->status = "error";
    r->message = message;
    return Status::OK();
  };
  r->materialized = "unit";
  auto spec_it = project.unit_tests.find(node.unique_id);
  const Node* model = project.manifest.Find(node.attached_node);
  if (spec_it == project.unit_tests.end() || model == nullptr)
    return Status::Internal("unknown unit test " + node.unique_id);
  const UnitTestSpec& spec = spec_it->second;
  std::string where = spec.where + ": unit test '" + spec.name + "'";

  RenderOverrides ov;
  const json& o = spec.overrides;
  if (o.is_object()) {
    if (o.contains("vars") && o["vars"].is_object()) ov.vars = o["vars"];
    if (o.contains("env_vars") && o["env_vars"].is_object()) ov.env_vars = o["env_vars"];
    if (o.contains("macros") && o["macros"].is_object()) ov.macros = o["macros"];
  }
  bool incremental = ov.macros.contains("is_incremental") && ov.macros["is_incremental"].is_boolean() &&
                     ov.macros["is_incremental"].get<bool>();

  // Every input the model reads must be given: a unit test never reads real data.
  std::set<std::string> given(spec.input_ids.begin(), spec.input_ids.end());
  for (const auto& dep : model->depends_on) {
    if (given.count(dep)) continue;
    const Node* d = project.manifest.Find(dep);
    std::string text = d ? InputText(*d) : dep;
    return fail(where + ": model '" + model->name + "' reads " + text +
                ", which has no `given` input (add `- input: " + text + "` with its rows; `rows: []` for none)");
  }
  if (incremental && !given.count("this")) {
    return fail(where +
                ": is_incremental is overridden to true, so the model's current rows must be given as "
                "`- input: this`");
  }

  // One CTE per input; `this` last, as its columns may come from the model run on the others.
  std::string with;
  std::vector<size_t> input_order;
  for (size_t i = 0; i < spec.input_ids.size(); ++i) {
    if (spec.input_ids[i] != "this") input_order.push_back(i);
  }
  for (size_t i = 0; i < spec.input_ids.size(); ++i) {
    if (spec.input_ids[i] == "this") input_order.push_back(i);
  }
  for (size_t i : input_order) {
    const std::string& id = spec.input_ids[i];
    const Node* input = id == "this" ? model : project.manifest.Find(id);
    std::string text = id == "this" ? "this" : InputText(*input);
    // Quoted wherever it appears, so any name makes a valid identifier.
    std::string cte = "__dbt__unit__" + (id == "this" ? std::string("this") : input->name) + "_" + std::to_string(i);
    ov.relations[id] = cte;
    auto rows = ReadRows(project, spec.given[i], where + ", given " + text);
    if (!rows.ok()) return fail(rows.status().message());
    ColumnList types;
    if (!rows->is_sql) {
      auto cols = Columns(conn, input->schema, input->alias.empty() ? input->name : input->alias);
      if (!cols.ok()) return fail(where + ": " + cols.status().message());
      types = *cols;
      // Not built yet: a model's columns are those of its SQL's output — for `this`, the model
      // run (not incrementally) on the other inputs; for a parent model, on its real inputs.
      if (types.empty() && input->type == NodeType::kModel) {
        RenderOverrides full = ov;  // the model as a full refresh: no `this`, is_incremental() false
        full.relations.erase("this");
        full.macros.erase("is_incremental");
        auto sql = id == "this" ? project.Compile(*model, false, &full) : project.Compile(*input, false);
        if (sql.ok()) {
          auto shape = conn->Query(with + "\nselect * from (\n" + std::string(TrimSqlEnd(*sql)) +
                                   "\n) as __dbt__unit__shape limit 0");
          if (shape.ok()) {
            for (size_t c = 0; c < shape->columns.size(); ++c)
              types.emplace_back(shape->columns[c], shape->column_types[c]);
          }
        }
      }
    }
    auto sql = FixtureSql(*rows, types, where + ": given " + text);
    if (!sql.ok()) return fail(sql.status().message());
    with += (with.empty() ? "with " : ",\n") + duck::QuoteIdent(cte) + " as (\n" + *sql + "\n)";
  }

  auto compiled = project.Compile(*model, incremental, &ov);
  if (!compiled.ok()) return fail(where + ": compiling '" + model->name + "': " + compiled.status().message());
  std::string model_sql(TrimSqlEnd(*compiled));
  std::string prefix = with.empty() ? "with " : with + ",\n";
  std::string actual = "(\n" + model_sql + "\n) as __dbt__unit__model";

  // The output's columns and types.
  auto shape = conn->Query(with + "\nselect * from " + actual + " limit 0");
  if (!shape.ok()) {
    r->compiled_sql = with + "\nselect * from " + actual;
    return fail(where + ": the model's SQL failed on the given rows: " + shape.status().message());
  }
  ColumnList out_cols;
  for (size_t c = 0; c < shape->columns.size(); ++c) out_cols.emplace_back(shape->columns[c], shape->column_types[c]);

  // The expected rows, typed like the output columns they name.
  auto expected = ReadRows(project, spec.expect, where + ", expect");
  if (!expected.ok()) return fail(expected.status().message());
  ColumnList cols;
  std::string expected_sql;
  if (expected->is_sql) {
    auto e = conn->Query(with + "\nselect * from (\n" + expected->sql + "\n) as e limit 0");
    if (!e.ok()) return fail(where + ": expect (format sql): " + e.status().message());
    for (const auto& name : e->columns) cols.emplace_back(name, "");
    expected_sql = "select * from (\n" + expected->sql + "\n) as __dbt__unit__e";
  } else {
    std::vector<std::string> names = expected->columns;
    if (names.empty()) {
      for (const auto& [name, type] : out_cols) names.push_back(name);  // `rows: []`: no rows at all
    }
    std::set<std::string> wanted;
    for (const auto& name : names) {
      auto it = std::find_if(out_cols.begin(), out_cols.end(),
                             [&](const auto& c) { return AsciiLower(c.first) == AsciiLower(name); });
      if (it == out_cols.end()) {
        std::string list;
        for (const auto& [n, t] : out_cols) list += (list.empty() ? "" : ", ") + n;
        return fail(where + ": expect names column '" + name + "', which '" + model->name +
                    "' does not produce (its columns: " + list + ")");
      }
      wanted.insert(AsciiLower(name));
    }
    for (const auto& c : out_cols) {
      if (wanted.count(AsciiLower(c.first))) cols.push_back(c);  // in the model's column order
    }
    auto sql = FixtureSql(*expected, cols, where + ": expect");
    if (!sql.ok()) return fail(sql.status().message());
    expected_sql = *sql;
  }

  std::string col_list, as_text, order;
  for (size_t i = 0; i < cols.size(); ++i) {
    std::string q = duck::QuoteIdent(cols[i].first);
    col_list += (i ? ", " : "") + q;
    as_text += ", cast(" + q + " as varchar) as " + q;
    order += std::to_string(i + 2) + ", ";  // whole rows, so a + and its - sit together
  }
  std::string diff = prefix + "__dbt__unit__actual as (\nselect " + col_list + " from " + actual +
                     "\n),\n__dbt__unit__expected as (\n" + expected_sql + "\n)\n" + "select '+' as __diff" + as_text +
                     " from (select * from __dbt__unit__actual except all select * from __dbt__unit__expected) as a\n"
                     "union all\nselect '-'" +
                     as_text +
                     " from (select * from __dbt__unit__expected except all select * from __dbt__unit__actual) as b\n"
                     "order by " +
                     order + "1";
  r->compiled_sql = diff;
  auto result = conn->Query(diff);
  if (!result.ok()) return fail(where + ": comparing output with expect: " + result.status().message());
  r->failures = static_cast<int64_t>(result->rows.size());
  if (result->rows.empty()) {
    r->status = "pass";
    return Status::OK();
  }
  int64_t plus = 0;
  for (const auto& row : result->rows) plus += row[0] && *row[0] == "+";
  r->status = "fail";
  r->message = "actual differs from expected: " + std::to_string(plus) + " unexpected row(s) (+), " +
               std::to_string(r->failures - plus) + " missing row(s) (-)\n" + DiffTable(*result, 30);
  return Status::OK();
}

}  // namespace strata::transform
