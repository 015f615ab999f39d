#include "transform/materialize.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include "core/date.h"
#include "core/file.h"
#include "core/strings.h"
#include "core/transaction.h"
#include "transform/dbt_context.h"
#include "transform/seed_csv.h"

namespace strata::transform {

using jinja::Value;
using nlohmann::json;

Result<std::vector<std::pair<std::string, std::string>>> Columns(warehouse::Session* c, const std::string& schema,
                                                                 const std::string& name) {
  STRATA_ASSIGN_OR_RETURN(auto r, c->Query("SELECT column_name, data_type FROM information_schema.columns WHERE "
                                           "table_schema = " +
                                           duck::QuoteLiteral(schema) + " AND table_name = " +
                                           duck::QuoteLiteral(name) + " ORDER BY ordinal_position"));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& row : r.rows) out.emplace_back(*row[0], *row[1]);
  return out;
}

namespace {

std::string Ident(const std::string& s) { return duck::QuoteIdent(s); }

std::string Rel(const Node& n, const std::string& identifier) { return RelationText(n.database, n.schema, identifier); }

Value RelValue(const Node& n, const std::string& identifier) { return MakeRelation(n.database, n.schema, identifier); }

// "table", "view" or "" when the relation does not exist.
Result<std::string> RelationKind(warehouse::Session* c, const std::string& schema, const std::string& name) {
  STRATA_ASSIGN_OR_RETURN(auto r,
                          c->Query("SELECT table_type FROM information_schema.tables WHERE table_schema = " +
                                   duck::QuoteLiteral(schema) + " AND table_name = " + duck::QuoteLiteral(name)));
  if (r.rows.empty() || !r.rows[0][0]) return std::string();
  return *r.rows[0][0] == "VIEW" ? std::string("view") : std::string("table");
}

std::vector<std::string> UniqueKey(const Node& node) {
  std::vector<std::string> keys;
  if (!node.config.contains("unique_key")) return keys;
  const json& k = node.config["unique_key"];
  if (k.is_string()) {
    keys.push_back(k.get<std::string>());
  } else if (k.is_array()) {
    for (const auto& x : k) keys.push_back(x.get<std::string>());
  }
  return keys;
}

Value StrList(const std::vector<std::string>& xs) {
  std::vector<Value> v;
  for (const auto& x : xs) v.push_back(Value(x));
  return Value::MakeList(std::move(v));
}

class Materializer {
 public:
  Materializer(const LoadedProject& p, warehouse::Session* c, const Node& n, bool full_refresh, NodeResult* r)
      : p_(p), c_(c), n_(n), full_refresh_(full_refresh), r_(r) {
    now_ = p.settings.run_started_at.empty() ? FormatTimestamp(static_cast<int64_t>(std::time(nullptr)))
                                             : p.settings.run_started_at;
  }

  Status Run() {
    std::string m = n_.materialized();
    r_->materialized = m;
    if (n_.type == NodeType::kTest) return Test();
    if (m == "ephemeral" && n_.type == NodeType::kModel) {
      r_->status = "success";
      r_->message = "ephemeral (inlined where referenced)";
      return Status::OK();
    }
    if (n_.type == NodeType::kModel) {
      STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("create_schema", {Value(Ident(n_.schema))})));
    }
    // Pre-hooks, the node, post-hooks (dbt's order); a failing hook fails the node.
    STRATA_RETURN_IF_ERROR(Hooks("pre-hook"));
    Status s = Body(m);
    if (!s.ok() || r_->status == "error") return s;
    return Hooks("post-hook");
  }

 private:
  Status Body(const std::string& m) {
    if (n_.type == NodeType::kSeed) return Seed();
    if (n_.type == NodeType::kSnapshot) return Snapshot();
    if (m == "view") return View();
    if (m == "table") return Table();
    if (m == "incremental") return Incremental();
    return Fail("unknown materialization '" + m + "' (expected view, table, incremental or ephemeral)");
  }

  // The node's `pre-hook` or `post-hook` config: SQL strings, or {sql, transaction} maps,
  // rendered with the node's context and run in order.
  Status Hooks(const char* key) {
    if (!n_.config.contains(key)) return Status::OK();
    const json& hooks = n_.config[key];
    std::vector<json> list =
        hooks.is_array() ? std::vector<json>(hooks.begin(), hooks.end()) : std::vector<json>{hooks};
    warehouse::Session* c = c_;
    for (size_t i = 0; i < list.size(); ++i) {
      const json& h = list[i];
      std::string text = h.is_string()                        ? h.get<std::string>()
                         : h.is_object() && h.contains("sql") ? h["sql"].get<std::string>()
                                                              : std::string();
      if (text.empty()) continue;
      std::string where = n_.path + " (" + key + " " + std::to_string(i + 1) + ")";
      auto sql = p_.RenderHook(text, where, &n_, {}, [c]() -> Result<warehouse::Session*> { return c; });
      if (!sql.ok()) return Fail(sql.status().message());
      if (sql->find_first_not_of(" \t\r\n;") == std::string::npos) continue;
      Status ran = Exec(Result<std::string>(*sql));
      if (!ran.ok()) return Fail(std::string(key) + " " + std::to_string(i + 1) + " failed: " + ran.message());
    }
    return Status::OK();
  }

  Status Fail(const std::string& message) {
    r_->status = "error";
    r_->message = message;
    return Status::OK();
  }

  // Runs SQL produced by a macro; a SQL error becomes the node's error.
  Status Exec(Result<std::string> sql) {
    if (!sql.ok()) return sql.status();
    executed_ += *sql + ";\n";
    auto r = c_->Query(*sql);
    if (!r.ok()) return r.status();
    last_ = std::move(*r);
    return Status::OK();
  }

  const std::string& alias() const { return n_.alias.empty() ? n_.name : n_.alias; }

  Result<std::string> Sql(bool is_incremental) {
    warehouse::Session* c = c_;
    STRATA_ASSIGN_OR_RETURN(
        std::string sql, p_.Compile(n_, is_incremental, nullptr, [c]() -> Result<warehouse::Session*> { return c; }));
    r_->compiled_sql = sql;
    return sql;
  }

  bool ContractEnforced() const {
    if (!n_.config.contains("contract") || !n_.config["contract"].is_object()) return false;
    const json& e = n_.config["contract"].value("enforced", json(false));
    return e.is_boolean() && e.get<bool>();
  }

  // The contract's columns in YAML order: (name, data_type, constraints).
  std::vector<const json*> ContractColumns() const {
    std::vector<const json*> cols;
    for (const auto& [name, c] : n_.columns.items()) cols.push_back(&c);
    std::stable_sort(cols.begin(), cols.end(),
                     [](const json* a, const json* b) { return a->value("index", 0) < b->value("index", 0); });
    return cols;
  }

  // dbt's contract preflight: the query's columns must be the contract's, with the same data
  // types (compared as the warehouse names them: both sides are asked of it). A mismatch fails
  // the node with dbt's table of differences, before anything is built.
  Status CheckContract(const std::string& sql) {
    std::vector<const json*> cols = ContractColumns();
    std::string missing_types;
    for (const json* c : cols) {
      if (c->value("data_type", std::string()).empty())
        missing_types += (missing_types.empty() ? "" : ", ") + c->value("name", std::string());
    }
    if (cols.empty() || !missing_types.empty()) {
      return Fail("This model has an enforced contract, and its columns " +
                  (cols.empty() ? std::string("are not declared") : "lack a data_type: " + missing_types) +
                  ". Declare each column with its data_type in the model's YAML.");
    }
    auto actual = c_->Query("select * from (\n" + sql + "\n) as model_subq limit 0");
    if (!actual.ok()) return Fail(actual.status().message());
    std::string declared_sql = "select ";
    for (size_t i = 0; i < cols.size(); ++i) {
      declared_sql += (i ? ", " : "") + std::string("cast(null as ") + (*cols[i])["data_type"].get<std::string>() +
                      ") as " + Ident((*cols[i])["name"].get<std::string>());
    }
    auto declared = c_->Query(declared_sql + " limit 0");
    if (!declared.ok()) return Fail("the contract's data types: " + declared.status().message());
    struct Row {
      std::string name, definition, contract, reason;
    };
    std::vector<Row> rows;
    auto lower = [](std::string x) {
      for (auto& ch : x) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return x;
    };
    auto base = [&lower](const std::string& t) { return lower(t.substr(0, t.find('('))); };
    for (size_t i = 0; i < declared->columns.size(); ++i) {
      const std::string& name = declared->columns[i];
      auto it = std::find_if(actual->columns.begin(), actual->columns.end(),
                             [&](const std::string& a) { return lower(a) == lower(name); });
      std::string want = (*cols[i])["data_type"].get<std::string>();
      if (it == actual->columns.end()) {
        rows.push_back({name, "", want, "missing in definition"});
        continue;
      }
      std::string got = actual->column_types[static_cast<size_t>(it - actual->columns.begin())];
      if (base(got) != base(declared->column_types[i])) rows.push_back({name, got, want, "data type mismatch"});
    }
    for (size_t i = 0; i < actual->columns.size(); ++i) {
      const std::string& a = actual->columns[i];
      bool declared_col = std::any_of(declared->columns.begin(), declared->columns.end(),
                                      [&](const std::string& d) { return lower(d) == lower(a); });
      if (!declared_col) rows.push_back({a, actual->column_types[i], "", "missing in contract"});
    }
    if (rows.empty()) return Status::OK();
    std::string table =
        "| column_name | definition_type | contract_type | mismatch_reason |\n"
        "| ----------- | --------------- | ------------- | --------------- |\n";
    for (const auto& r : rows) {
      table += "| " + r.name + " | " + r.definition + " | " + r.contract + " | " + r.reason + " |\n";
    }
    return Fail(
        "This model has an enforced contract that failed.\nPlease ensure the name, data_type, and number of "
        "columns in your contract match the columns in your model's definition.\n\n" +
        table);
  }

  // The table of a contracted model: its columns typed and constrained as the contract says,
  // filled from the query in the contract's column order.
  std::pair<std::string, std::string> ContractedCreate(const std::string& relation, const std::string& sql) const {
    std::string defs, names;
    for (const json* c : ContractColumns()) {
      std::string name = Ident((*c)["name"].get<std::string>());
      defs += (defs.empty() ? "" : ",\n  ") + name + " " + (*c)["data_type"].get<std::string>();
      names += (names.empty() ? "" : ", ") + name;
      if (c->contains("constraints")) {
        for (const auto& k : (*c)["constraints"]) defs += ConstraintSql(k, false);
      }
    }
    for (const auto& k : n_.constraints) {
      std::string clause = ConstraintSql(k, true);
      if (!clause.empty()) defs += ",\n  " + clause.substr(1);
    }
    return {"create table " + relation + " (\n  " + defs + "\n)",
            "insert into " + relation + " (" + names + ")\nselect " + names + " from (\n" + sql + "\n) as model_subq"};
  }

  static std::string ConstraintSql(const json& k, bool model_level) {
    std::string type = k.value("type", std::string());
    std::string named = k.contains("name") ? " constraint " + Ident(k["name"].get<std::string>()) : "";
    std::string cols;
    if (model_level && k.contains("columns")) {
      for (const auto& c : k["columns"]) cols += (cols.empty() ? "" : ", ") + Ident(c.get<std::string>());
    }
    std::string expr = k.value("expression", std::string());
    if (type == "not_null") return model_level ? "" : " not null";
    if (type == "unique") return named + (model_level ? " unique (" + cols + ")" : " unique");
    if (type == "primary_key") return named + (model_level ? " primary key (" + cols + ")" : " primary key");
    if (type == "check") return named + " check (" + expr + ")";
    if (type == "foreign_key") {
      std::string to = expr;
      if (k.contains("to") && k["to"].is_string()) to = k["to"].get<std::string>();
      return named + (model_level ? " foreign key (" + cols + ")" : "") + " references " + to;
    }
    if (type == "custom") return " " + expr;
    return "";
  }

  Status View() {
    STRATA_ASSIGN_OR_RETURN(std::string sql, Sql(false));
    if (ContractEnforced()) {
      STRATA_RETURN_IF_ERROR(CheckContract(sql));
      if (r_->status == "error") return Status::OK();
    }
    STRATA_ASSIGN_OR_RETURN(std::string kind, RelationKind(c_, n_.schema, alias()));
    if (kind == "table")
      STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("drop_relation", {RelValue(n_, alias()), Value("table")})));
    STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("create_view_as", {RelValue(n_, alias()), Value(sql)})));
    r_->status = "success";
    return Status::OK();
  }

  // Builds the table beside the old one, then swaps it in atomically.
  Status BuildAndSwap(const std::string& sql) {
    std::string tmp = alias() + "__strata_tmp";
    STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("drop_relation", {RelValue(n_, tmp), Value("table")})));
    STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("create_table_as", {RelValue(n_, tmp), Value(sql)})));
    r_->rows_affected = last_.AffectedRows();
    return Swap(tmp);
  }

  // Replaces the node's relation with table `tmp`, in one transaction.
  Status Swap(const std::string& tmp) {
    STRATA_ASSIGN_OR_RETURN(std::string kind, RelationKind(c_, n_.schema, alias()));
    STRATA_ASSIGN_OR_RETURN(auto tx, Transaction<warehouse::Session>::Begin(c_));
    if (!kind.empty())
      STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("drop_relation", {RelValue(n_, alias()), Value(kind)})));
    STRATA_RETURN_IF_ERROR(
        Exec(p_.CallMacro("rename_relation", {RelValue(n_, tmp), Value("table"), Value(Ident(alias()))})));
    return tx.Commit();
  }

  Status Table() {
    STRATA_ASSIGN_OR_RETURN(std::string sql, Sql(false));
    if (ContractEnforced()) {
      STRATA_RETURN_IF_ERROR(CheckContract(sql));
      if (r_->status == "error") return Status::OK();
      std::string tmp = alias() + "__strata_tmp";
      STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("drop_relation", {RelValue(n_, tmp), Value("table")})));
      STRATA_ASSIGN_OR_RETURN(auto tx, Transaction<warehouse::Session>::Begin(c_));
      auto [create, insert] = ContractedCreate(Rel(n_, tmp), sql);
      Status built = Exec(Result<std::string>(create));
      if (built.ok()) built = Exec(Result<std::string>(insert));
      if (!built.ok()) return Fail(built.message());  // a bad constraint, or rows that break one
      r_->rows_affected = last_.AffectedRows();
      STRATA_RETURN_IF_ERROR(tx.Commit());
      STRATA_RETURN_IF_ERROR(Swap(tmp));
      r_->status = "success";
      return Status::OK();
    }
    STRATA_RETURN_IF_ERROR(BuildAndSwap(sql));
    r_->status = "success";
    return Status::OK();
  }

  Status Incremental() {
    STRATA_ASSIGN_OR_RETURN(std::string kind, RelationKind(c_, n_.schema, alias()));
    bool full = full_refresh_ || n_.config.value("full_refresh", false);
    if (kind != "table" || full) return Table();

    STRATA_ASSIGN_OR_RETURN(std::string sql, Sql(true));
    std::string tmp = alias() + "__strata_new";
    STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("drop_relation", {RelValue(n_, tmp), Value("table")})));
    STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("create_table_as", {RelValue(n_, tmp), Value(sql)})));
    Status s = Merge(tmp);
    (void)Exec(p_.CallMacro("drop_relation", {RelValue(n_, tmp), Value("table")}));
    return s;
  }

  Status Merge(const std::string& tmp) {
    STRATA_ASSIGN_OR_RETURN(auto target_cols, Columns(c_, n_.schema, alias()));
    STRATA_ASSIGN_OR_RETURN(auto new_cols, Columns(c_, n_.schema, tmp));
    std::set<std::string> have, incoming;
    for (const auto& [name, type] : target_cols) have.insert(name);
    for (const auto& [name, type] : new_cols) incoming.insert(name);
    std::vector<std::string> added, removed;
    for (const auto& [name, type] : new_cols) {
      if (!have.count(name)) added.push_back(name);
    }
    for (const auto& [name, type] : target_cols) {
      if (!incoming.count(name)) removed.push_back(name);
    }
    std::string policy = n_.config.value("on_schema_change", std::string("ignore"));
    if (!added.empty() || !removed.empty()) {
      auto join = [](const std::vector<std::string>& xs) {
        std::string s;
        for (const auto& x : xs) s += (s.empty() ? "" : ", ") + x;
        return s.empty() ? std::string("none") : s;
      };
      if (policy == "fail") {
        return Fail("the model's columns changed (new: " + join(added) + "; removed: " + join(removed) +
                    ") and on_schema_change is 'fail'; run with --full-refresh or change the policy");
      }
      if (policy == "append_new_columns" || policy == "sync_all_columns") {
        for (const auto& [name, type] : new_cols) {
          if (have.count(name)) continue;
          STRATA_RETURN_IF_ERROR(
              Exec(Result<std::string>("alter table " + Rel(n_, alias()) + " add column " + Ident(name) + " " + type)));
        }
      }
      if (policy == "sync_all_columns") {
        for (const auto& name : removed) {
          STRATA_RETURN_IF_ERROR(
              Exec(Result<std::string>("alter table " + Rel(n_, alias()) + " drop column " + Ident(name))));
        }
      } else if (policy != "ignore" && policy != "append_new_columns") {
        return Fail("unknown on_schema_change '" + policy + "' (ignore, fail, append_new_columns, sync_all_columns)");
      }
    }
    // Insert the columns both sides have now.
    STRATA_ASSIGN_OR_RETURN(target_cols, Columns(c_, n_.schema, alias()));
    std::vector<std::string> cols;
    for (const auto& [name, type] : target_cols) {
      if (incoming.count(name)) cols.push_back(Ident(name));
    }

    std::string strategy = n_.config.value("incremental_strategy", std::string(""));
    std::vector<std::string> keys = UniqueKey(n_);
    if (strategy.empty()) strategy = keys.empty() ? "append" : "merge";
    if ((strategy == "merge" || strategy == "delete+insert") && keys.empty()) {
      return Fail("incremental_strategy '" + strategy + "' needs a unique_key");
    }
    std::vector<std::string> quoted_keys;
    for (const auto& k : keys) quoted_keys.push_back(Ident(k));
    if (strategy == "merge") {
      // A key twice in the new rows would silently duplicate (dbt-core #11799's family): refuse.
      STRATA_ASSIGN_OR_RETURN(std::string dup_sql,
                              p_.CallMacro("get_duplicate_keys_sql", {RelValue(n_, tmp), StrList(quoted_keys)}));
      STRATA_ASSIGN_OR_RETURN(auto dups, c_->Query(dup_sql));
      if (!dups.rows.empty()) {
        std::string example;
        for (size_t i = 0; i + 1 < dups.rows[0].size(); ++i) {
          example += (i ? ", " : "") + keys[i] + "=" + dups.rows[0][i].value_or("NULL");
        }
        return Fail("merge: the new rows hold the unique key more than once (e.g. " + example + ", " +
                    dups.rows[0].back().value_or("?") + " rows); fix the model or use delete+insert");
      }
    } else if (strategy != "append" && strategy != "delete+insert") {
      return Fail("unknown incremental_strategy '" + strategy + "' (append, merge, delete+insert)");
    }
    STRATA_ASSIGN_OR_RETURN(auto tx, Transaction<warehouse::Session>::Begin(c_));
    if (strategy != "append") {
      STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("get_incremental_delete_sql",
                                               {RelValue(n_, alias()), RelValue(n_, tmp), StrList(quoted_keys)})));
    }
    STRATA_RETURN_IF_ERROR(
        Exec(p_.CallMacro("get_incremental_append_sql", {RelValue(n_, alias()), RelValue(n_, tmp), StrList(cols)})));
    r_->rows_affected = last_.AffectedRows();
    STRATA_RETURN_IF_ERROR(tx.Commit());
    r_->status = "success";
    return Status::OK();
  }

  // A seed loads its CSV beside the old table, then swaps it in atomically. Column types are
  // dbt's (agate's inference, seed_csv.h) unless the seed's column_types say otherwise; the
  // engine parses the file.
  Status Seed() {
    STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("create_schema", {Value(Ident(n_.schema))})));
    std::string delim = n_.config.value("delimiter", std::string(","));
    if (delim.size() != 1) return Fail("delimiter must be one character, not '" + delim + "'");
    r_->compiled_sql = "-- seed " + n_.seed_path;
    STRATA_ASSIGN_OR_RETURN(std::string text, ReadFile(n_.seed_path));
    auto columns = ReadSeedColumns(text, n_.path.empty() ? n_.seed_path : n_.path, delim[0]);
    if (!columns.ok()) return Fail(columns.status().message());
    std::map<std::string, std::string> types;
    for (const auto& c : *columns) types[c.name] = c.type;
    if (n_.config.contains("column_types") && n_.config["column_types"].is_object()) {
      for (const auto& [k, v] : n_.config["column_types"].items()) {
        if (v.is_string()) types[k] = v.get<std::string>();
      }
    }
    std::string tmp = alias() + "__strata_tmp";
    STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("drop_relation", {RelValue(n_, tmp), Value("table")})));
    STRATA_ASSIGN_OR_RETURN(int64_t rows, c_->CreateTableFromCsv(n_.schema, tmp, n_.seed_path, delim[0], types));
    // What agate reads as null in a text column ("null", blank) and the engines load as text.
    std::string nulls;
    for (const auto& c : *columns) {
      std::string type = AsciiLower(types[c.name]);
      bool textual = type.find("char") != std::string::npos || type.find("text") != std::string::npos ||
                     type.find("string") != std::string::npos;
      if (!c.text_nulls || !textual) continue;
      nulls += (nulls.empty() ? "" : ", ") + Ident(c.name) + " = case when lower(trim(" + Ident(c.name) +
               ")) in ('', 'null') then null else " + Ident(c.name) + " end";
    }
    if (!nulls.empty()) STRATA_RETURN_IF_ERROR(Exec(Result<std::string>("update " + Rel(n_, tmp) + " set " + nulls)));
    r_->rows_affected = rows;
    STRATA_RETURN_IF_ERROR(Swap(tmp));
    r_->status = "success";
    return Status::OK();
  }

  // The snapshot's own columns, renamed by snapshot_meta_column_names (dbt 1.9), and the
  // dbt_valid_to of current versions (dbt_valid_to_current; NULL without it), for the
  // snapshot macros' `meta`.
  Result<Value> SnapshotMeta() {
    std::map<std::string, std::string> names = {{"dbt_scd_id", "dbt_scd_id"},
                                                {"dbt_updated_at", "dbt_updated_at"},
                                                {"dbt_valid_from", "dbt_valid_from"},
                                                {"dbt_valid_to", "dbt_valid_to"},
                                                {"dbt_is_deleted", "dbt_is_deleted"}};
    if (n_.config.contains("snapshot_meta_column_names") && !n_.config["snapshot_meta_column_names"].is_null()) {
      const json& renames = n_.config["snapshot_meta_column_names"];
      if (!renames.is_object()) return Status::InvalidArgument("snapshot_meta_column_names must be a mapping");
      for (const auto& [k, v] : renames.items()) {
        if (!names.count(k)) {
          return Status::InvalidArgument("snapshot_meta_column_names: unknown column '" + k +
                                         "' (dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to, "
                                         "dbt_is_deleted)");
        }
        if (!v.is_string() || v.get<std::string>().empty()) {
          return Status::InvalidArgument("snapshot_meta_column_names: '" + k + "' must name a column");
        }
        names[k] = v.get<std::string>();
      }
    }
    std::string current = "null";
    bool has_current = false;
    if (n_.config.contains("dbt_valid_to_current") && !n_.config["dbt_valid_to_current"].is_null()) {
      const json& c = n_.config["dbt_valid_to_current"];
      if (!c.is_string() || c.get<std::string>().empty()) {
        return Status::InvalidArgument("dbt_valid_to_current must be a SQL expression (a string)");
      }
      current = c.get<std::string>();
      has_current = true;
    }
    return Value::MakeDict({{"scd_id", Value(Ident(names["dbt_scd_id"]))},
                            {"updated_at", Value(Ident(names["dbt_updated_at"]))},
                            {"valid_from", Value(Ident(names["dbt_valid_from"]))},
                            {"valid_to", Value(Ident(names["dbt_valid_to"]))},
                            {"is_deleted", Value(Ident(names["dbt_is_deleted"]))},
                            {"current_to", Value(current)},
                            {"has_current_to", Value(has_current)}});
  }

  Status Snapshot() {
    auto meta = SnapshotMeta();
    if (!meta.ok()) return Fail(meta.status().message());
    meta_ = *meta;
    std::vector<std::string> keys = UniqueKey(n_);
    if (keys.empty()) return Fail("a snapshot needs a unique_key");
    std::string strategy = n_.config.value("strategy", std::string("timestamp"));
    if (strategy != "timestamp" && strategy != "check") {
      return Fail("unknown snapshot strategy '" + strategy + "' (timestamp or check)");
    }
    std::string updated_at = n_.config.value("updated_at", std::string(""));
    if (strategy == "timestamp" && updated_at.empty()) return Fail("the timestamp strategy needs 'updated_at'");
    std::string hard_deletes = n_.config.value("hard_deletes", std::string(""));
    if (hard_deletes.empty())
      hard_deletes = n_.config.value("invalidate_hard_deletes", false) ? "invalidate" : "ignore";
    if (hard_deletes != "ignore" && hard_deletes != "invalidate" && hard_deletes != "new_record") {
      return Fail("unknown hard_deletes '" + hard_deletes + "' (ignore, invalidate, new_record)");
    }
    STRATA_ASSIGN_OR_RETURN(std::string sql, Sql(false));
    STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("create_schema", {Value(Ident(n_.schema))})));

    // Stage the snapshot query once: every statement below reads the same rows.
    std::string staging = alias() + "__strata_snap_src";
    STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("drop_relation", {RelValue(n_, staging), Value("table")})));
    STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("create_table_as", {RelValue(n_, staging), Value(sql)})));
    Status s = SnapshotFrom(staging, keys, strategy, updated_at, hard_deletes);
    (void)Exec(p_.CallMacro("drop_relation", {RelValue(n_, staging), Value("table")}));
    return s;
  }

  Status SnapshotFrom(const std::string& staging, const std::vector<std::string>& keys, const std::string& strategy,
                      const std::string& updated_at, const std::string& hard_deletes) {
    STRATA_ASSIGN_OR_RETURN(auto src_cols, Columns(c_, n_.schema, staging));
    std::vector<std::string> cols, qkeys;
    for (const auto& [name, type] : src_cols) cols.push_back(Ident(name));
    for (const auto& k : keys) qkeys.push_back(Ident(k));
    // One current row per key, always (dbt-core #2034): refuse duplicate keys in the source.
    STRATA_ASSIGN_OR_RETURN(std::string dup_sql,
                            p_.CallMacro("get_duplicate_keys_sql", {RelValue(n_, staging), StrList(qkeys)}));
    STRATA_ASSIGN_OR_RETURN(auto dups, c_->Query(dup_sql));
    if (!dups.rows.empty()) {
      return Fail("the snapshot query returns unique_key " + dups.rows[0][0].value_or("NULL") +
                  " more than once; a snapshot needs one row per key");
    }
    std::string now = "cast('" + now_ + "' as timestamp)";
    std::string updated_expr = strategy == "timestamp" ? "s." + Ident(updated_at) : now;
    STRATA_ASSIGN_OR_RETURN(std::string kind, RelationKind(c_, n_.schema, alias()));
    if (kind.empty()) {
      STRATA_RETURN_IF_ERROR(
          Exec(p_.CallMacro("snapshot_create_sql", {RelValue(n_, alias()), RelValue(n_, staging), StrList(qkeys),
                                                    StrList(cols), Value(updated_expr), Value(hard_deletes), meta_})));
      r_->rows_affected = last_.AffectedRows();
      r_->status = "success";
      return Status::OK();
    }
    // New source columns become new snapshot columns.
    STRATA_ASSIGN_OR_RETURN(auto target_cols, Columns(c_, n_.schema, alias()));
    std::set<std::string> have;
    for (const auto& [name, type] : target_cols) have.insert(name);
    for (const auto& [name, type] : src_cols) {
      if (!have.count(name)) {
        STRATA_RETURN_IF_ERROR(
            Exec(Result<std::string>("alter table " + Rel(n_, alias()) + " add column " + Ident(name) + " " + type)));
      }
    }
    std::vector<std::string> check;
    if (strategy == "check") {
      const json& cc = n_.config.contains("check_cols") ? n_.config["check_cols"] : json("all");
      if (cc.is_string() && cc.get<std::string>() == "all") {
        for (const auto& [name, type] : src_cols) {
          if (std::find(keys.begin(), keys.end(), name) == keys.end()) check.push_back(Ident(name));
        }
      } else if (cc.is_array()) {
        for (const auto& c : cc) check.push_back(Ident(c.get<std::string>()));
      } else {
        return Fail("check_cols must be 'all' or a list of columns");
      }
    }
    STRATA_ASSIGN_OR_RETURN(
        std::string changed,
        p_.CallMacro("snapshot_changed", {Value(strategy), Value(Ident(updated_at)), StrList(check), meta_}));
    STRATA_ASSIGN_OR_RETURN(auto tx, Transaction<warehouse::Session>::Begin(c_));
    STRATA_RETURN_IF_ERROR(Exec(
        p_.CallMacro("snapshot_close_changed_sql", {RelValue(n_, alias()), RelValue(n_, staging), StrList(qkeys),
                                                    Value(changed), Value(updated_expr), Value(hard_deletes), meta_})));
    const int64_t closed = last_.AffectedRows();
    STRATA_RETURN_IF_ERROR(
        Exec(p_.CallMacro("snapshot_insert_sql", {RelValue(n_, alias()), RelValue(n_, staging), StrList(qkeys),
                                                  StrList(cols), Value(updated_expr), Value(hard_deletes), meta_})));
    const int64_t inserted = last_.AffectedRows();
    if (hard_deletes != "ignore") {
      STRATA_RETURN_IF_ERROR(
          Exec(p_.CallMacro("snapshot_hard_delete_sql", {RelValue(n_, alias()), RelValue(n_, staging), StrList(qkeys),
                                                         Value(now), Value(hard_deletes), StrList(cols), meta_})));
    }
    STRATA_RETURN_IF_ERROR(tx.Commit());
    r_->rows_affected = inserted;
    r_->message = std::to_string(closed) + " version(s) closed, " + std::to_string(inserted) + " inserted";
    r_->status = "success";
    return Status::OK();
  }

  Status Test() {
    STRATA_ASSIGN_OR_RETURN(std::string sql, Sql(false));
    std::string fail_calc = n_.config.value("fail_calc", std::string("count(*)"));
    std::string warn_if = n_.config.value("warn_if", std::string("!= 0"));
    std::string error_if = n_.config.value("error_if", std::string("!= 0"));
    Value limit = n_.config.contains("limit") && n_.config["limit"].is_number_integer()
                      ? Value(n_.config["limit"].get<int64_t>())
                      : Value::None();
    STRATA_ASSIGN_OR_RETURN(
        std::string wrapped,
        p_.CallMacro("get_test_sql", {Value(sql), Value(fail_calc), Value(warn_if), Value(error_if), limit}));
    r_->compiled_sql = sql;
    auto r = c_->Query(wrapped);
    if (!r.ok()) return Fail(r.status().message());
    if (r->rows.empty()) return Fail("the test query returned no row");
    const auto& row = r->rows[0];
    r_->failures = row[0] ? std::stoll(*row[0]) : 0;
    bool should_error = row[2].value_or("false") == "true";
    bool should_warn = row[1].value_or("false") == "true";
    std::string severity = n_.config.value("severity", std::string("error"));
    std::transform(severity.begin(), severity.end(), severity.begin(), ::tolower);
    if (severity == "error" && should_error) {
      r_->status = "fail";
    } else if (should_warn || (severity == "warn" && should_error)) {
      r_->status = "warn";
    } else {
      r_->status = "pass";
    }
    if (r_->status != "pass")
      r_->message = "got " + std::to_string(r_->failures) + " result(s), configured to " + r_->status + " if " +
                    (r_->status == "fail" ? error_if : warn_if);
    // The audit table is rebuilt on every run, empty when the test passes (as in dbt): rows of
    // an earlier failure must not outlive the fix.
    if (n_.config.value("store_failures", false)) {
      std::string schema = p_.profile.schema + "_dbt_test__audit";
      Value audit = MakeRelation("", schema, alias());
      STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("create_schema", {Value(Ident(schema))})));
      STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("drop_relation", {audit, Value("table")})));
      STRATA_RETURN_IF_ERROR(Exec(p_.CallMacro("create_table_as", {audit, Value(sql)})));
    }
    return Status::OK();
  }

  const LoadedProject& p_;
  warehouse::Session* c_;
  const Node& n_;
  bool full_refresh_;
  NodeResult* r_;
  sql::QueryResult last_;
  std::string executed_;
  std::string now_;
  Value meta_;  // snapshots: SnapshotMeta()
};

}  // namespace

Status Materialize(const LoadedProject& project, warehouse::Session* conn, const Node& node, bool full_refresh,
                   NodeResult* result) {
  Materializer m(project, conn, node, full_refresh, result);
  Status s = m.Run();
  if (!s.ok() && result->status.empty()) {
    result->status = "error";
    result->message = s.message();
    return Status::OK();
  }
  return s;
}

Status CheckFreshness(const LoadedProject& project, warehouse::Session* conn, const Node& source, NodeResult* r) {
  r->materialized = "freshness";
  auto error = [r](const std::string& message) {
    r->status = "error";
    r->message = message;
    return Status::OK();
  };
  const json& f = source.config["freshness"];
  std::string where = source.path + ": source '" + source.fqn[source.fqn.size() - 2] + "." + source.name + "'";
  std::string field = source.config.value("loaded_at_field", std::string());
  if (field.empty()) return error(where + " declares freshness but no loaded_at_field");
  // Thresholds in seconds; a missing one never fires.
  auto threshold = [&](const char* key, int64_t* seconds, std::string* text) -> Status {
    *seconds = -1;
    if (!f.is_object() || !f.contains(key) || f[key].is_null()) return Status::OK();
    const json& t = f[key];
    if (!t.is_object() || !t.contains("count") || !t["count"].is_number_integer() || !t.contains("period") ||
        !t["period"].is_string()) {
      return Status::InvalidArgument(where + ": freshness." + key +
                                     " must be {count: <integer>, period: minute|hour|day}");
    }
    std::string period = t["period"].get<std::string>();
    int64_t unit = period == "minute" ? 60 : period == "hour" ? 3600 : period == "day" ? 86400 : 0;
    if (unit == 0) {
      return Status::InvalidArgument(where + ": freshness." + key + ".period is '" + period +
                                     "' (expected minute, hour or day)");
    }
    int64_t count = t["count"].get<int64_t>();
    *seconds = count * unit;
    *text = std::to_string(count) + " " + period + (count == 1 ? "" : "s");
    return Status::OK();
  };
  int64_t warn_s, error_s;
  std::string warn_text, error_text;
  if (Status s = threshold("warn_after", &warn_s, &warn_text); !s.ok()) return error(s.message());
  if (Status s = threshold("error_after", &error_s, &error_text); !s.ok()) return error(s.message());
  json criteria = {{"warn_after", f.value("warn_after", json())}, {"error_after", f.value("error_after", json())}};
  std::string filter =
      f.is_object() && f.contains("filter") && f["filter"].is_string() ? f["filter"].get<std::string>() : "";

  std::string relation =
      RelationText(source.database, source.schema, source.alias.empty() ? source.name : source.alias);
  auto sql = project.CallMacro("collect_freshness", {Value(relation), Value(field), Value(filter)});
  if (!sql.ok()) return error(sql.status().message());
  r->compiled_sql = *sql;
  auto q = conn->Query(*sql);
  if (!q.ok()) return error(where + ": " + q.status().message());
  std::string now_text = project.settings.run_started_at.substr(0, 19);
  auto now = ParseTimestamp(now_text);
  if (!now.ok()) return Status::Internal("run_started_at: " + now.status().message());
  r->freshness = {{"snapshotted_at", now_text}, {"criteria", criteria}};
  if (q->rows.empty() || !q->rows[0][0]) {
    r->freshness["max_loaded_at"] = nullptr;
    return error(where + ": no rows" + std::string(filter.empty() ? "" : " matching the filter") +
                 ", so no loaded_at value to measure");
  }
  std::string max_text = *q->rows[0][0];
  auto max = ParseTimestamp(max_text);
  if (!max.ok()) return error(where + ": max(" + field + ") = '" + max_text + "' is not a timestamp");
  int64_t age = *now - *max;
  r->freshness["max_loaded_at"] = max_text.substr(0, 19);
  r->freshness["max_loaded_at_time_ago_in_s"] = age;
  auto human = [](int64_t s) {
    std::string sign = s < 0 ? "-" : "";
    s = std::abs(s);
    if (s >= 86400) return sign + std::to_string(s / 86400) + "d " + std::to_string(s % 86400 / 3600) + "h";
    if (s >= 3600) return sign + std::to_string(s / 3600) + "h " + std::to_string(s % 3600 / 60) + "m";
    return sign + std::to_string(s / 60) + "m " + std::to_string(s % 60) + "s";
  };
  std::string said = "newest " + field + " " + max_text.substr(0, 19) + " is " + human(age) + " old";
  if (error_s >= 0 && age > error_s) {
    r->status = "error";
    r->message = "stale: " + said + " (error_after " + error_text + ")";
  } else if (warn_s >= 0 && age > warn_s) {
    r->status = "warn";
    r->message = "stale: " + said + " (warn_after " + warn_text + ")";
  } else {
    r->status = "pass";
    r->message = said;
  }
  return Status::OK();
}

}  // namespace strata::transform
