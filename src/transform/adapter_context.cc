// dbt's adapter surface as templates see it: Relation and Column objects, `api`, `adapter`
// (dispatch, quoting, introspection, execute), and the statement results behind
// `statement`, `run_query` and `load_result` (agate-like tables).
//
// Introspection runs on the session of the node being compiled (RenderState::session), as
// dbt's runs on the node's connection. While parsing there is none: introspection answers
// nothing (an empty column list, no relation), as dbt's parse-time adapter does, and
// statements do not run (their macros check `execute`).
#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "core/config.h"
#include "db/query_result.h"
#include "transform/dbt_context.h"
#include "transform/jinja/call_context.h"
#include "transform/jinja/callable.h"
#include "warehouse/session.h"

namespace strata::transform {

using jinja::Args;
using jinja::CallContext;
using jinja::Value;

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string QuoteName(const std::string& s) { return duck::QuoteIdent(s); }
std::string SqlLiteral(const std::string& s) { return duck::QuoteLiteral(s); }

Value Fn(std::string name, jinja::NativeFn fn) { return Value::Function(std::move(name), std::move(fn)); }

std::string OptStr(const Value& v) { return v.is_undefined() || v.is_none() ? std::string() : v.Str(); }

// ---- Relation -----------------------------------------------------------------------------

// dbt's BaseRelation: a path (database, schema, identifier), a type, and policies saying
// which parts render and which are quoted. Immutable: include() and incorporate() return new
// relations. Dict-like (`relation is mapping`, relation.get('metadata')) as dbt's are.
class Relation : public jinja::Object {
 public:
  struct Parts {
    std::string database, schema, identifier, type;
    bool inc_db = true, inc_schema = true, inc_id = true;
    bool q_db = true, q_schema = true, q_id = true;
    std::string adapter = "duckdb";
    // --empty: renders as a subquery of no rows, `(select * from x where false limit 0)`.
    bool limit_zero = false;
  };
  explicit Relation(Parts p) : p_(std::move(p)) {}
  const Parts& parts() const { return p_; }

  std::string TypeName() const override { return "Relation"; }
  bool IsMapping() const override { return true; }
  std::string Str() const override {
    std::string out;
    auto add = [&](bool inc, bool quote, const std::string& part) {
      if (!inc || part.empty()) return;
      if (!out.empty()) out += ".";
      out += quote ? QuoteName(part) : part;
    };
    add(p_.inc_db, p_.q_db, p_.database);
    add(p_.inc_schema, p_.q_schema, p_.schema);
    add(p_.inc_id, p_.q_id, p_.identifier);
    if (p_.limit_zero && !p_.identifier.empty()) {
      return "(select * from " + out + " where false limit 0) _dbt_limit_subq_" + p_.identifier;
    }
    return out;
  }
  std::vector<std::string> AttrNames() const override {
    return {"database", "schema",      "identifier", "name",         "table",          "type",
            "is_table", "is_view",     "is_cte",     "render",       "include",        "incorporate",
            "quote",    "path",        "metadata",   "quote_policy", "include_policy", "without_identifier",
            "get",      "replace_path"};
  }
  Value GetAttr(std::string_view name) const override {
    if (name == "database") return p_.database.empty() ? Value::None() : Value(p_.database);
    if (name == "schema") return p_.schema.empty() ? Value::None() : Value(p_.schema);
    if (name == "identifier" || name == "name" || name == "table") {
      return p_.identifier.empty() ? Value::None() : Value(p_.identifier);
    }
    if (name == "type") return p_.type.empty() ? Value::None() : Value(p_.type);
    if (name == "is_table") return Value(p_.type == "table");
    if (name == "is_view") return Value(p_.type == "view");
    if (name == "is_cte") return Value(p_.type == "cte");
    if (name == "is_materialized_view") return Value(p_.type == "materialized_view");
    if (name == "path") return PartsDict(p_.database, p_.schema, p_.identifier);
    if (name == "quote_policy") return PolicyDict(p_.q_db, p_.q_schema, p_.q_id);
    if (name == "include_policy") return PolicyDict(p_.inc_db, p_.inc_schema, p_.inc_id);
    if (name == "metadata") {
      std::string type = p_.adapter == "postgres" ? "PostgresRelation" : "DuckDBRelation";
      return Value::MakeDict({{"type", Value(type)}});
    }
    auto self = p_;
    if (name == "render") {
      std::string text = Str();
      return Fn("render", [text](CallContext&, const Args&) -> Result<Value> { return Value(text); });
    }
    if (name == "get") {
      Value me = Value::FromObject(std::make_shared<Relation>(p_));
      return Fn("get", [me](CallContext&, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("get", {"key", "default"}, 1));
        Value v = a[0].is_string() ? me.as_object().GetAttr(a[0].as_string()) : Value();
        if (v.is_undefined()) return a[1].is_undefined() ? Value::None() : a[1];
        return v;
      });
    }
    if (name == "include" || name == "quote") {
      bool include = name == "include";
      return Fn(std::string(name), [self, include](CallContext&, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind(include ? "include" : "quote", {"database", "schema", "identifier"}));
        Parts p = self;
        bool* db = include ? &p.inc_db : &p.q_db;
        bool* schema = include ? &p.inc_schema : &p.q_schema;
        bool* id = include ? &p.inc_id : &p.q_id;
        if (!a[0].is_undefined() && !a[0].is_none()) *db = a[0].Truthy();
        if (!a[1].is_undefined() && !a[1].is_none()) *schema = a[1].Truthy();
        if (!a[2].is_undefined() && !a[2].is_none()) *id = a[2].Truthy();
        return Value::FromObject(std::make_shared<Relation>(p));
      });
    }
    if (name == "without_identifier") {
      return Fn("without_identifier", [self](CallContext&, const Args&) -> Result<Value> {
        Parts p = self;
        p.inc_id = false;
        return Value::FromObject(std::make_shared<Relation>(p));
      });
    }
    if (name == "incorporate" || name == "replace_path") {
      bool incorporate = name == "incorporate";
      return Fn(std::string(name), [self, incorporate](CallContext&, const Args& args) -> Result<Value> {
        Parts p = self;
        auto apply_path = [&p](const Value& path) -> Status {
          if (!path.is_dict()) return CallContext::Error("incorporate(path=...) expects a dict");
          for (const auto& [k, v] : path.as_dict().entries()) {
            std::string key = k.Str();
            if (key == "database")
              p.database = OptStr(v);
            else if (key == "schema")
              p.schema = OptStr(v);
            else if (key == "identifier")
              p.identifier = OptStr(v);
            else
              return CallContext::Error("incorporate(path=...): unknown part '" + key + "'");
          }
          return Status::OK();
        };
        for (const auto& [k, v] : args.kwargs) {
          if (incorporate && k == "path") {
            STRATA_RETURN_IF_ERROR(apply_path(v));
          } else if (incorporate && k == "type") {
            p.type = OptStr(v);
          } else if (!incorporate && (k == "database" || k == "schema" || k == "identifier")) {
            (k == "database" ? p.database : k == "schema" ? p.schema : p.identifier) = OptStr(v);
          } else {
            return CallContext::Error(std::string(incorporate ? "incorporate" : "replace_path") +
                                      "(): unexpected argument '" + k + "'");
          }
        }
        return Value::FromObject(std::make_shared<Relation>(p));
      });
    }
    return jinja::Object::GetAttr(name);
  }

 private:
  static Value PartsDict(const std::string& db, const std::string& schema, const std::string& id) {
    auto part = [](const std::string& s) { return s.empty() ? Value::None() : Value(s); };
    return Value::MakeDict({{"database", part(db)}, {"schema", part(schema)}, {"identifier", part(id)}});
  }
  static Value PolicyDict(bool db, bool schema, bool id) {
    return Value::MakeDict({{"database", Value(db)}, {"schema", Value(schema)}, {"identifier", Value(id)}});
  }
  Parts p_;
};

const Relation* AsRelation(const Value& v) {
  return v.is_object() ? dynamic_cast<const Relation*>(&v.as_object()) : nullptr;
}

// ---- Column -------------------------------------------------------------------------------

bool OneOf(const std::string& dtype, std::initializer_list<const char*> names) {
  std::string base = Lower(dtype.substr(0, dtype.find('(')));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  for (const char* n : names) {
    if (base == n) return true;
  }
  return false;
}

// dbt's Column: name, dtype, sizes, and the type predicates macros use.
class Column : public jinja::Object {
 public:
  // `adapter`: dbt-postgres's Column keeps `text` as text; dbt's base Column (dbt-duckdb's)
  // spells every string type character varying(size).
  Column(std::string name, std::string dtype, int64_t char_size, int64_t precision, int64_t scale, std::string adapter)
      : name_(std::move(name)),
        dtype_(std::move(dtype)),
        adapter_(std::move(adapter)),
        char_size_(char_size),
        precision_(precision),
        scale_(scale) {}
  std::string TypeName() const override { return "Column"; }
  bool IsString() const { return OneOf(dtype_, {"text", "character varying", "character", "varchar", "string"}); }
  bool IsInteger() const {
    return OneOf(dtype_, {"smallint", "integer", "bigint", "smallserial", "serial", "bigserial", "int2", "int4", "int8",
                          "int", "tinyint", "hugeint", "utinyint", "usmallint", "uinteger", "ubigint"});
  }
  bool IsFloat() const { return OneOf(dtype_, {"real", "float4", "float", "double precision", "float8", "double"}); }
  bool IsNumeric() const { return OneOf(dtype_, {"numeric", "decimal"}); }
  std::string DataType() const {
    if (IsString()) {
      if (adapter_ == "postgres" && Lower(dtype_) == "text") return dtype_;
      return "character varying(" + std::to_string(char_size_ > 0 ? char_size_ : 256) + ")";
    }
    if (IsNumeric() && precision_ > 0 && dtype_.find('(') == std::string::npos) {
      return dtype_ + "(" + std::to_string(precision_) + "," + std::to_string(scale_) + ")";
    }
    return dtype_;
  }
  std::string Str() const override { return "<Column " + name_ + " (" + DataType() + ")>"; }
  std::vector<std::string> AttrNames() const override {
    return {"name",          "column",    "quoted",    "dtype",      "data_type",  "char_size", "numeric_precision",
            "numeric_scale", "is_string", "is_number", "is_numeric", "is_integer", "is_float",  "string_size"};
  }
  Value GetAttr(std::string_view name) const override {
    if (name == "name" || name == "column") return Value(name_);
    if (name == "quoted") return Value(QuoteName(name_));
    if (name == "dtype") return Value(dtype_);
    if (name == "data_type") return Value(DataType());
    auto opt_int = [](int64_t v) { return v > 0 ? Value(v) : Value::None(); };
    if (name == "char_size") return opt_int(char_size_);
    if (name == "numeric_precision") return opt_int(precision_);
    if (name == "numeric_scale") return precision_ > 0 ? Value(scale_) : Value::None();
    auto predicate = [](std::string n, bool v) {
      return Fn(std::move(n), [v](CallContext&, const Args&) -> Result<Value> { return Value(v); });
    };
    if (name == "is_string") return predicate("is_string", IsString());
    if (name == "is_integer") return predicate("is_integer", IsInteger());
    if (name == "is_float") return predicate("is_float", IsFloat());
    if (name == "is_numeric") return predicate("is_numeric", IsNumeric());
    if (name == "is_number") return predicate("is_number", IsInteger() || IsFloat() || IsNumeric());
    if (name == "string_size") {
      int64_t n = char_size_ > 0 ? char_size_ : 256;
      return Fn("string_size", [n](CallContext&, const Args&) -> Result<Value> { return Value(n); });
    }
    return jinja::Object::GetAttr(name);
  }

 private:
  std::string name_, dtype_, adapter_;
  int64_t char_size_, precision_, scale_;
};

// api.Column.translate_type: dbt's generic type names ("string", "integer", ...) as SQL.
std::string TranslateType(const std::string& t) {
  static const std::map<std::string, std::string> kLabels = {
      {"STRING", "TEXT"}, {"TIMESTAMP", "TIMESTAMP"}, {"FLOAT", "FLOAT"}, {"INTEGER", "INT"}, {"BOOLEAN", "BOOLEAN"}};
  auto it = kLabels.find(Upper(t));
  return it == kLabels.end() ? t : it->second;
}

// ---- agate-like tables --------------------------------------------------------------------

// A query's rows with typed values, shared by the table, its rows and its columns.
struct TableData {
  std::vector<std::string> names;
  std::vector<std::string> types;  // the engine's type names
  std::vector<std::vector<Value>> rows;
};

// An int key as a position in a sequence of `n` items, Python's way (-1 is the last); nullopt
// when out of range.
std::optional<size_t> PythonIndex(const Value& key, size_t n) {
  int64_t k = key.as_int();
  if (k < 0) k += static_cast<int64_t>(n);
  if (k < 0 || k >= static_cast<int64_t>(n)) return std::nullopt;
  return static_cast<size_t>(k);
}

class TableRow : public jinja::Object {
 public:
  TableRow(std::shared_ptr<const TableData> d, size_t i) : d_(std::move(d)), i_(i) {}
  std::string TypeName() const override { return "Row"; }
  bool IsIterable() const override { return true; }
  std::vector<Value> Items() const override { return d_->rows[i_]; }
  Value GetItem(const Value& key) const override {
    if (key.is_int()) {
      auto k = PythonIndex(key, d_->names.size());
      return k ? d_->rows[i_][*k] : Value();
    }
    return key.is_string() ? GetAttr(key.as_string()) : Value();
  }
  Value GetAttr(std::string_view name) const override {
    for (size_t c = 0; c < d_->names.size(); ++c) {
      if (d_->names[c] == name) return d_->rows[i_][c];
    }
    auto d = d_;
    size_t i = i_;
    if (name == "values") {
      return Fn("values", [d, i](CallContext&, const Args&) -> Result<Value> { return Value::MakeTuple(d->rows[i]); });
    }
    if (name == "keys") {
      return Fn("keys", [d](CallContext&, const Args&) -> Result<Value> {
        std::vector<Value> k(d->names.begin(), d->names.end());
        return Value::MakeTuple(std::move(k));
      });
    }
    if (name == "dict") {
      return Fn("dict", [d, i](CallContext&, const Args&) -> Result<Value> {
        Value out = Value::MakeDict();
        for (size_t c = 0; c < d->names.size(); ++c) out.as_dict().Set(d->names[c], d->rows[i][c]);
        return out;
      });
    }
    return jinja::Object::GetAttr(name);
  }
  std::vector<std::string> AttrNames() const override { return d_->names; }
  std::string Str() const override { return Value::MakeTuple(d_->rows[i_]).Str(); }

 private:
  std::shared_ptr<const TableData> d_;
  size_t i_;
};

class TableColumn : public jinja::Object {
 public:
  TableColumn(std::shared_ptr<const TableData> d, size_t c) : d_(std::move(d)), c_(c) {}
  std::string TypeName() const override { return "Column"; }
  bool IsIterable() const override { return true; }
  std::vector<Value> Items() const override {
    std::vector<Value> out;
    for (const auto& r : d_->rows) out.push_back(r[c_]);
    return out;
  }
  Value GetItem(const Value& key) const override {
    if (key.is_int()) {
      auto k = PythonIndex(key, d_->rows.size());
      return k ? d_->rows[*k][c_] : Value();
    }
    return key.is_string() ? GetAttr(key.as_string()) : Value();
  }
  Value GetAttr(std::string_view name) const override {
    if (name == "name") return Value(d_->names[c_]);
    if (name == "data_type") return Value(d_->types[c_]);
    if (name == "values" || name == "values_distinct" || name == "values_without_nulls") {
      std::vector<Value> vals = Items();
      if (name != "values") {
        std::vector<Value> keep;
        for (auto& v : vals) {
          if (name == "values_without_nulls" && v.is_none()) continue;
          if (name == "values_distinct" &&
              std::any_of(keep.begin(), keep.end(), [&v](const Value& k) { return k.Equals(v); })) {
            continue;
          }
          keep.push_back(v);
        }
        vals = std::move(keep);
      }
      Value out = Value::MakeTuple(std::move(vals));
      return Fn(std::string(name), [out](CallContext&, const Args&) -> Result<Value> { return out; });
    }
    return jinja::Object::GetAttr(name);
  }
  std::vector<std::string> AttrNames() const override { return {"name", "data_type", "values"}; }

 private:
  std::shared_ptr<const TableData> d_;
  size_t c_;
};

// table.columns: by position or by name; iterating yields the columns.
class TableColumns : public jinja::Object {
 public:
  explicit TableColumns(std::shared_ptr<const TableData> d) : d_(std::move(d)) {}
  std::string TypeName() const override { return "MappedSequence"; }
  bool IsIterable() const override { return true; }
  std::vector<Value> Items() const override {
    std::vector<Value> out;
    for (size_t c = 0; c < d_->names.size(); ++c)
      out.push_back(Value::FromObject(std::make_shared<TableColumn>(d_, c)));
    return out;
  }
  Value GetItem(const Value& key) const override {
    if (key.is_int()) {
      auto k = PythonIndex(key, d_->names.size());
      return k ? Value::FromObject(std::make_shared<TableColumn>(d_, *k)) : Value();
    }
    return key.is_string() ? GetAttr(key.as_string()) : Value();
  }
  Value GetAttr(std::string_view name) const override {
    for (size_t c = 0; c < d_->names.size(); ++c) {
      if (d_->names[c] == name) return Value::FromObject(std::make_shared<TableColumn>(d_, c));
    }
    return jinja::Object::GetAttr(name);
  }
  std::vector<std::string> AttrNames() const override { return d_->names; }

 private:
  std::shared_ptr<const TableData> d_;
};

class Table : public jinja::Object {
 public:
  explicit Table(std::shared_ptr<const TableData> d) : d_(std::move(d)) {}
  std::string TypeName() const override { return "Table"; }
  bool IsIterable() const override { return true; }
  std::vector<Value> Items() const override {
    std::vector<Value> out;
    for (size_t i = 0; i < d_->rows.size(); ++i) out.push_back(Value::FromObject(std::make_shared<TableRow>(d_, i)));
    return out;
  }
  Value GetItem(const Value& key) const override {
    if (key.is_int()) {
      auto k = PythonIndex(key, d_->rows.size());
      return k ? Value::FromObject(std::make_shared<TableRow>(d_, *k)) : Value();
    }
    return key.is_string() ? GetAttr(key.as_string()) : Value();
  }
  Value GetAttr(std::string_view name) const override {
    if (name == "rows") return Value::MakeList(Items());
    if (name == "columns") return Value::FromObject(std::make_shared<TableColumns>(d_));
    if (name == "column_names") return Value::MakeTuple(std::vector<Value>(d_->names.begin(), d_->names.end()));
    if (name == "column_types") return Value::MakeTuple(std::vector<Value>(d_->types.begin(), d_->types.end()));
    auto d = d_;
    if (name == "print_table") {
      return Fn("print_table", [d](CallContext&, const Args&) -> Result<Value> {
        std::string out;
        for (size_t c = 0; c < d->names.size(); ++c) out += (c ? " | " : "| ") + d->names[c];
        out += " |\n";
        for (const auto& r : d->rows) {
          for (size_t c = 0; c < r.size(); ++c) out += (c ? " | " : "| ") + r[c].Str();
          out += " |\n";
        }
        std::fputs(out.c_str(), stdout);
        return Value::None();
      });
    }
    return jinja::Object::GetAttr(name);
  }
  std::vector<std::string> AttrNames() const override { return {"rows", "columns", "column_names", "column_types"}; }
  std::string Str() const override { return "<agate.Table " + std::to_string(d_->rows.size()) + " rows>"; }

 private:
  std::shared_ptr<const TableData> d_;
};

// A text cell as agate would type it: integers and decimals as numbers, booleans as bools,
// NULL as None, everything else (dates, timestamps, text) as its text.
Value TypedCell(const sql::Cell& cell, const std::string& type) {
  if (!cell) return Value::None();
  const std::string& s = *cell;
  std::string t = Lower(type);
  auto is = [&t](std::initializer_list<const char*> names) {
    for (const char* n : names) {
      if (t.rfind(n, 0) == 0) return true;
    }
    return false;
  };
  if (is({"bigint", "integer", "smallint", "tinyint", "hugeint", "int", "ubigint", "uinteger", "usmallint",
          "utinyint"})) {
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (end != s.c_str() && *end == '\0') return Value(static_cast<int64_t>(v));
  }
  if (is({"double", "float", "real", "decimal", "numeric"})) {
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() && *end == '\0') {
      if (is({"decimal", "numeric"}) && s.find_first_of(".eE") == std::string::npos) {
        return Value(static_cast<int64_t>(std::strtoll(s.c_str(), nullptr, 10)));
      }
      return Value(v);
    }
  }
  if (is({"bool"})) return Value(s == "true" || s == "t" || s == "1");
  return Value(s);
}

Value MakeTable(const sql::QueryResult& r) {
  auto d = std::make_shared<TableData>();
  d->names = r.columns;
  d->types = r.column_types;
  d->types.resize(d->names.size());
  for (const auto& row : r.rows) {
    std::vector<Value> vals;
    for (size_t c = 0; c < row.size(); ++c) vals.push_back(TypedCell(row[c], d->types[c]));
    d->rows.push_back(std::move(vals));
  }
  return Value::FromObject(std::make_shared<Table>(std::move(d)));
}

Value AdapterResponse(const std::string& message, int64_t rows) {
  Value d = Value::MakeDict({{"_message", Value(message)}, {"code", Value(message)}, {"rows_affected", Value(rows)}});
  return d;
}

// ---- adapter ------------------------------------------------------------------------------

Result<warehouse::Session*> SessionOf(CallContext& ctx, const char* what) {
  STRATA_ASSIGN_OR_RETURN(RenderState * s, RenderStateOf(ctx));
  if (!s->session) {
    return CallContext::Error(std::string(what) + " needs a warehouse connection, which this render does not have");
  }
  return s->session();
}

// The session, or null while parsing (introspection then answers nothing).
Result<warehouse::Session*> IntrospectionSession(CallContext& ctx, const char* what) {
  STRATA_ASSIGN_OR_RETURN(RenderState * s, RenderStateOf(ctx));
  if (s->mode == RenderMode::kParse || !s->session) return static_cast<warehouse::Session*>(nullptr);
  return SessionOf(ctx, what);
}

std::string Where(const std::string& db, const std::string& schema, const std::string& name) {
  std::string w = "table_schema = " + SqlLiteral(schema);
  if (!name.empty()) w += " AND table_name = " + SqlLiteral(name);
  if (!db.empty()) w += " AND table_catalog = " + SqlLiteral(db);
  return w;
}

class AdapterObject : public jinja::Object {
 public:
  AdapterObject(std::string type, std::string root, std::map<std::string, std::vector<std::string>> dispatch,
                std::vector<std::string> dependencies)
      : type_(std::move(type)),
        root_(std::move(root)),
        dispatch_(std::move(dispatch)),
        dependencies_(std::move(dependencies)) {}
  std::string TypeName() const override { return "adapter"; }
  std::vector<std::string> AttrNames() const override {
    return {"dispatch",
            "type",
            "quote",
            "quote_as_configured",
            "get_columns_in_relation",
            "get_relation",
            "load_relation",
            "list_relations",
            "check_schema_exists",
            "execute",
            "already_exists",
            "quote_seed_column"};
  }

  Value GetAttr(std::string_view name) const override {
    if (name == "dispatch") return Dispatch();
    std::string type = type_;
    if (name == "type") {
      return Fn("adapter.type", [type](CallContext&, const Args&) -> Result<Value> { return Value(type); });
    }
    if (name == "quote" || name == "quote_as_configured") {
      return Fn("adapter.quote", [](CallContext&, const Args& args) -> Result<Value> {
        if (args.positional.empty()) return CallContext::Error("adapter.quote() takes an identifier");
        return Value(QuoteName(args.positional[0].Str()));
      });
    }
    if (name == "quote_seed_column") {
      return Fn("adapter.quote_seed_column", [](CallContext&, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("adapter.quote_seed_column", {"column", "quote_config"}, 1));
        bool quote = a[1].is_undefined() || a[1].is_none() || a[1].Truthy();
        return Value(quote ? QuoteName(a[0].Str()) : a[0].Str());
      });
    }
    if (name == "get_columns_in_relation") {
      return Fn("adapter.get_columns_in_relation", [](CallContext& ctx, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("adapter.get_columns_in_relation", {"relation"}, 1));
        const Relation* rel = AsRelation(a[0]);
        if (rel == nullptr) {
          return CallContext::Error("adapter.get_columns_in_relation() expects a Relation, not " + a[0].TypeName() +
                                    " " + a[0].Repr());
        }
        STRATA_ASSIGN_OR_RETURN(warehouse::Session * c, IntrospectionSession(ctx, "get_columns_in_relation"));
        std::vector<Value> cols;
        if (c == nullptr || rel->parts().type == "cte") return Value::MakeList();
        const auto& p = rel->parts();
        STRATA_ASSIGN_OR_RETURN(auto r,
                                c->Query("SELECT column_name, data_type, character_maximum_length, numeric_precision, "
                                         "numeric_scale FROM information_schema.columns WHERE " +
                                         Where(p.database, p.schema, p.identifier) + " ORDER BY ordinal_position"));
        for (const auto& row : r.rows) {
          auto num = [](const sql::Cell& cell) -> int64_t {
            return cell ? std::strtoll(cell->c_str(), nullptr, 10) : 0;
          };
          std::string dtype = row[1].value_or("");
          if (OneOf(dtype, {"decimal", "numeric"}) && dtype.find('(') != std::string::npos) {
            dtype = dtype.substr(0, dtype.find('('));  // DuckDB: DECIMAL(18,3); sizes come from their columns
          }
          cols.push_back(Value::FromObject(std::make_shared<Column>(row[0].value_or(""), dtype, num(row[2]),
                                                                    num(row[3]), num(row[4]), c->engine())));
        }
        return Value::MakeList(std::move(cols));
      });
    }
    if (name == "get_relation" || name == "load_relation" || name == "already_exists") {
      std::string fn = std::string("adapter.") + std::string(name);
      int kind = name == "get_relation" ? 0 : name == "load_relation" ? 1 : 2;
      return Fn(fn, [fn, kind, type](CallContext& ctx, const Args& args) -> Result<Value> {
        Relation::Parts p;
        p.adapter = type;
        if (kind == 1) {
          STRATA_ASSIGN_OR_RETURN(auto a, args.Bind(fn, {"relation"}, 1));
          const Relation* rel = AsRelation(a[0]);
          if (rel == nullptr) return CallContext::Error(fn + "() expects a Relation");
          p = rel->parts();
        } else if (kind == 0) {
          STRATA_ASSIGN_OR_RETURN(auto a, args.Bind(fn, {"database", "schema", "identifier"}, 3));
          p.database = OptStr(a[0]);
          p.schema = OptStr(a[1]);
          p.identifier = OptStr(a[2]);
        } else {
          STRATA_ASSIGN_OR_RETURN(auto a, args.Bind(fn, {"schema", "name"}, 2));
          p.schema = OptStr(a[0]);
          p.identifier = OptStr(a[1]);
        }
        STRATA_ASSIGN_OR_RETURN(warehouse::Session * c, IntrospectionSession(ctx, fn.c_str()));
        if (c == nullptr) return kind == 2 ? Value(false) : Value::None();
        STRATA_ASSIGN_OR_RETURN(auto r, c->Query("SELECT table_name, table_type FROM information_schema.tables WHERE " +
                                                 Where(p.database, p.schema, p.identifier)));
        if (r.rows.empty()) return kind == 2 ? Value(false) : Value::None();
        if (kind == 2) return Value(true);
        p.identifier = r.rows[0][0].value_or(p.identifier);
        p.type = r.rows[0][1].value_or("") == "VIEW" ? "view" : "table";
        return Value::FromObject(std::make_shared<Relation>(p));
      });
    }
    if (name == "list_relations") {
      return Fn("adapter.list_relations", [type](CallContext& ctx, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("adapter.list_relations", {"database", "schema"}, 2));
        STRATA_ASSIGN_OR_RETURN(warehouse::Session * c, IntrospectionSession(ctx, "adapter.list_relations"));
        if (c == nullptr) return Value::MakeList();
        std::string db = OptStr(a[0]), schema = OptStr(a[1]);
        STRATA_ASSIGN_OR_RETURN(auto r, c->Query("SELECT table_name, table_type FROM information_schema.tables WHERE " +
                                                 Where(db, schema, "") + " ORDER BY table_name"));
        std::vector<Value> out;
        for (const auto& row : r.rows) {
          Relation::Parts p;
          p.adapter = type;
          p.database = db;
          p.schema = schema;
          p.identifier = row[0].value_or("");
          p.type = row[1].value_or("") == "VIEW" ? "view" : "table";
          out.push_back(Value::FromObject(std::make_shared<Relation>(p)));
        }
        return Value::MakeList(std::move(out));
      });
    }
    if (name == "check_schema_exists") {
      return Fn("adapter.check_schema_exists", [](CallContext& ctx, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("adapter.check_schema_exists", {"database", "schema"}, 2));
        STRATA_ASSIGN_OR_RETURN(warehouse::Session * c, IntrospectionSession(ctx, "adapter.check_schema_exists"));
        if (c == nullptr) return Value(false);
        STRATA_ASSIGN_OR_RETURN(auto r,
                                c->Query("SELECT count(*) FROM information_schema.schemata WHERE schema_name = " +
                                         SqlLiteral(OptStr(a[1]))));
        return Value(r.Scalar().value_or("0") != "0");
      });
    }
    if (name == "execute") {
      return Fn("adapter.execute", [](CallContext& ctx, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("adapter.execute", {"sql", "auto_begin", "fetch", "limit"}, 1));
        STRATA_ASSIGN_OR_RETURN(warehouse::Session * c, SessionOf(ctx, "adapter.execute"));
        std::string sql = a[0].Str();
        if (sql.find_first_not_of(" \t\r\n;") == std::string::npos) {
          return Value::MakeTuple({AdapterResponse("OK", 0), MakeTable(sql::QueryResult())});
        }
        if (a[2].Truthy()) {
          STRATA_ASSIGN_OR_RETURN(auto r, c->Query(sql));
          if (!a[3].is_undefined() && !a[3].is_none() && a[3].is_int() && a[3].as_int() >= 0 &&
              static_cast<size_t>(a[3].as_int()) < r.rows.size()) {
            r.rows.resize(static_cast<size_t>(a[3].as_int()));
          }
          int64_t n = static_cast<int64_t>(r.rows.size());
          return Value::MakeTuple({AdapterResponse("SELECT " + std::to_string(n), n), MakeTable(r)});
        }
        STRATA_RETURN_IF_ERROR(c->Execute(sql));
        return Value::MakeTuple({AdapterResponse("OK", -1), MakeTable(sql::QueryResult())});
      });
    }
    return jinja::Object::GetAttr(name);
  }

 private:
  // adapter.dispatch(macro_name, macro_namespace=None), as dbt resolves it: for each package
  // of the search order (the `dispatch:` config of the namespace, else the root project then
  // the namespace; without a namespace, the names visible where it is called), try
  // <adapter>__name, then default__name.
  Value Dispatch() const {
    std::string type = type_, root = root_;
    auto dispatch = dispatch_;
    auto deps = dependencies_;
    return Fn("adapter.dispatch", [type, root, dispatch, deps](CallContext& ctx, const Args& args) -> Result<Value> {
      STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("adapter.dispatch", {"macro_name", "macro_namespace", "packages"}, 1));
      const std::string macro = a[0].Str();
      if (macro.find('.') != std::string::npos) {
        return CallContext::Error("adapter.dispatch: the macro name '" + macro +
                                  "' has a dot; pass the package as macro_namespace instead");
      }
      const std::vector<std::string> prefixes = {type + "__", "default__"};
      std::vector<std::string> tried;
      if (a[1].is_undefined() || a[1].is_none()) {
        for (const auto& prefix : prefixes) {
          Value v = ctx.Lookup(prefix + macro);
          if (v.is_callable()) return v;
          tried.push_back("'" + prefix + macro + "'");
        }
      } else {
        const std::string ns = a[1].Str();
        std::vector<std::string> order;
        if (auto it = dispatch.find(ns); it != dispatch.end()) {
          order = it->second;
        } else if (ns == root || std::find(deps.begin(), deps.end(), ns) != deps.end()) {
          order = {root, ns};
        } else {
          return CallContext::Error("adapter.dispatch: no package named '" + ns + "' (installed: " + [&deps] {
            std::string s;
            for (const auto& d : deps) s += (s.empty() ? "" : ", ") + d;
            return s;
          }() + "); is it in packages.yml, and did 'strata deps' run?");
        }
        for (const auto& package : order) {
          Value space = ctx.Lookup(package);
          for (const auto& prefix : prefixes) {
            if (space.is_dict()) {
              if (const Value* m = space.as_dict().Find(prefix + macro); m != nullptr && m->is_callable()) return *m;
            }
            tried.push_back("'" + package + "." + prefix + macro + "'");
          }
        }
      }
      std::string searched;
      for (const auto& t : tried) searched += (searched.empty() ? "" : ", ") + t;
      return CallContext::Error("In dispatch: no macro named '" + macro + "' found within namespace: " +
                                (a[1].is_undefined() || a[1].is_none() ? std::string("None") : "'" + a[1].Str() + "'") +
                                "; searched for: " + searched);
    });
  }

  std::string type_, root_;
  std::map<std::string, std::vector<std::string>> dispatch_;
  std::vector<std::string> dependencies_;
};

}  // namespace

Value MakeRelation(const std::string& database, const std::string& schema, const std::string& identifier,
                   const std::string& type, const std::string& adapter) {
  Relation::Parts p;
  p.database = database;
  p.schema = schema;
  p.identifier = identifier;
  p.type = type;
  p.adapter = adapter;
  return Value::FromObject(std::make_shared<Relation>(std::move(p)));
}

jinja::Value EmptyRelation(const jinja::Value& relation) {
  const Relation* r = AsRelation(relation);
  if (r == nullptr) return relation;
  Relation::Parts p = r->parts();
  p.limit_zero = true;
  return Value::FromObject(std::make_shared<Relation>(std::move(p)));
}

void InstallAdapterContext(jinja::Environment* env, const ContextSettings& settings) {
  const std::string type = settings.profile.type.empty() ? "duckdb" : settings.profile.type;
  std::vector<std::string> deps = settings.packages;
  deps.push_back("dbt");
  env->AddGlobal("adapter", Value::FromObject(
                                std::make_shared<AdapterObject>(type, settings.project_name, settings.dispatch, deps)));

  // api.Relation and api.Column.
  Value relation_cls = Value::MakeDict();
  relation_cls.as_dict().Set(
      "create", Fn("api.Relation.create", [type](CallContext&, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("api.Relation.create", {"database", "schema", "identifier", "type"}));
        Relation::Parts p;
        p.adapter = type;
        p.database = OptStr(a[0]);
        p.schema = OptStr(a[1]);
        p.identifier = OptStr(a[2]);
        p.type = OptStr(a[3]);
        return Value::FromObject(std::make_shared<Relation>(p));
      }));
  relation_cls.as_dict().Set(
      "add_ephemeral_prefix",
      Fn("api.Relation.add_ephemeral_prefix", [](CallContext&, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("add_ephemeral_prefix", {"name"}, 1));
        return Value("__dbt__cte__" + a[0].Str());
      }));
  Value column_cls = Value::MakeDict();
  column_cls.as_dict().Set("translate_type",
                           Fn("api.Column.translate_type", [](CallContext&, const Args& args) -> Result<Value> {
                             STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("translate_type", {"dtype"}, 1));
                             return Value(TranslateType(a[0].Str()));
                           }));
  column_cls.as_dict().Set(
      "numeric_type", Fn("api.Column.numeric_type", [](CallContext&, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("numeric_type", {"dtype", "precision", "scale"}, 1));
        if (a[1].is_undefined() || a[1].is_none() || a[2].is_undefined() || a[2].is_none()) {
          return Value(a[0].Str());
        }
        return Value(a[0].Str() + "(" + a[1].Str() + "," + a[2].Str() + ")");
      }));
  column_cls.as_dict().Set("string_type",
                           Fn("api.Column.string_type", [](CallContext&, const Args& args) -> Result<Value> {
                             STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("string_type", {"size"}, 1));
                             return Value("character varying(" + a[0].Str() + ")");
                           }));
  column_cls.as_dict().Set(
      "create", Fn("api.Column.create", [type](CallContext&, const Args& args) -> Result<Value> {
        STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("api.Column.create", {"name", "label_or_dtype"}, 2));
        return Value::FromObject(std::make_shared<Column>(a[0].Str(), TranslateType(a[1].Str()), 0, 0, 0, type));
      }));
  Value api = Value::MakeDict({{"Relation", relation_cls}, {"Column", column_cls}});
  env->AddGlobal("api", api);

  // Statement results: store_result(name, response, agate_table) and load_result(name).
  env->AddFunction("store_result", [](CallContext& ctx, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("store_result", {"name", "response", "agate_table"}, 1));
    STRATA_ASSIGN_OR_RETURN(RenderState * s, RenderStateOf(ctx));
    Value table = a[2].is_undefined() || a[2].is_none() ? MakeTable(sql::QueryResult()) : a[2];
    std::vector<Value> data;
    for (const Value& row :
         table.is_object() && table.as_object().IsIterable() ? table.as_object().Items() : std::vector<Value>{}) {
      data.push_back(row.is_object() ? Value::MakeTuple(row.as_object().Items()) : row);
    }
    s->results[a[0].Str()] = Value::MakeDict({{"response", a[1].is_undefined() ? Value::None() : a[1]},
                                              {"data", Value::MakeList(std::move(data))},
                                              {"table", table}});
    return Value("");
  });
  env->AddFunction("load_result", [](CallContext& ctx, const Args& args) -> Result<Value> {
    STRATA_ASSIGN_OR_RETURN(auto a, args.Bind("load_result", {"name"}, 1));
    STRATA_ASSIGN_OR_RETURN(RenderState * s, RenderStateOf(ctx));
    auto it = s->results.find(a[0].Str());
    return it == s->results.end() ? Value::None() : it->second;
  });
}

}  // namespace strata::transform
