#include "transform/publish.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "core/file.h"
#include "core/strings.h"
#include "transform/dbt_context.h"
#include "transform/materialize.h"
#include "warehouse/pg_copy.h"
#include "warehouse/serving_copy.h"

namespace strata::transform {

using duck::QuoteIdent;
using duck::QuoteLiteral;

namespace {

std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

std::string Describe(const NodeResult& r) {
  if (r.status == "error") return r.name + " (error: " + r.message + ")";
  return r.name + " (" + (r.failures >= 0 ? Thousands(r.failures) + " failing rows" : r.status) + ")";
}

struct Target {
  const Node* node;
  std::string from, to, table;
};

// Runs `sql` on `conn`, naming what it was doing on failure.
Status Run(warehouse::Session* conn, const std::string& sql, const std::string& what) {
  return conn->Execute(sql).WithContext(what);
}

struct IndexSpec {
  std::vector<std::string> columns;
  bool unique = false;
  std::string type;  // btree, hash, gin, ... ("" = btree)
};

// The indexes a published relation gets: its `indexes` config (dbt-postgres's form: a list
// of {columns: [...], unique: bool, type: ...}), then one per column with a `unique` test
// not covered already. Such an index is unique when the test has error severity and no
// `where` (the audit then proved the column unique), plain otherwise.
Result<std::vector<IndexSpec>> IndexesFor(const LoadedProject& project, const Node& n) {
  std::vector<IndexSpec> out;
  if (n.config.contains("indexes") && !n.config["indexes"].is_null()) {
    const auto& list = n.config["indexes"];
    if (!list.is_array()) return Status::InvalidArgument(n.name + ": config 'indexes' must be a list");
    for (const auto& ix : list) {
      IndexSpec spec;
      if (!ix.is_object() || !ix.contains("columns") || !ix["columns"].is_array() || ix["columns"].empty()) {
        return Status::InvalidArgument(n.name + ": each of 'indexes' needs 'columns', a list of column names");
      }
      for (const auto& c : ix["columns"]) {
        if (!c.is_string()) return Status::InvalidArgument(n.name + ": index columns must be names");
        spec.columns.push_back(c.get<std::string>());
      }
      spec.unique = ix.value("unique", false);
      spec.type = ix.value("type", std::string());
      out.push_back(std::move(spec));
    }
  }
  for (const auto& [id, t] : project.manifest.nodes()) {
    if (t.type != NodeType::kTest || t.attached_node != n.unique_id || t.test_name != "unique" ||
        t.column_name.empty() || !t.enabled()) {
      continue;
    }
    bool covered = std::any_of(out.begin(), out.end(), [&](const IndexSpec& s) {
      return s.columns.size() == 1 && s.columns[0] == t.column_name;
    });
    if (covered) continue;
    IndexSpec spec;
    spec.columns = {t.column_name};
    const bool filtered = t.config.contains("where") && !t.config["where"].is_null();
    spec.unique = AsciiLower(t.config.value("severity", std::string("error"))) == "error" && !filtered;
    out.push_back(std::move(spec));
  }
  return out;
}

// An identifier of at most 63 bytes (PostgreSQL's limit): long names keep a prefix and a hash.
std::string PgName(const std::string& name) {
  if (name.size() <= 63) return name;
  char hash[12];
  std::snprintf(hash, sizeof hash, "_%08zx", std::hash<std::string>{}(name)&0xffffffffu);
  return name.substr(0, 63 - 9) + hash;
}

}  // namespace

std::string PublishReport::Summary() const {
  std::string warn =
      warnings.empty() ? ""
                       : "; " + std::to_string(warnings.size()) + " warning" + (warnings.size() == 1 ? "" : "s") + ": ";
  for (size_t i = 0; i < warnings.size(); ++i) warn += (i ? ", " : "") + Describe(warnings[i]);
  if (!superseded_by.empty()) {
    return "not published: the schema holds the publication of " + superseded_by +
           ", a later logical date (a rerun of a past date never moves published data back; rerun " + superseded_by +
           " to publish again)";
  }
  if (!published) {
    std::string out =
        "blocked by " + std::to_string(blocking.size()) + " failing check" + (blocking.size() == 1 ? "" : "s") + ": ";
    for (size_t i = 0; i < blocking.size(); ++i) out += (i ? ", " : "") + Describe(blocking[i]);
    return out + warn;
  }
  int64_t rows = 0;
  for (const auto& r : relations) rows += r.rows;
  std::string audit =
      audited == 0 ? " (not audited)" : " after " + std::to_string(audited) + " check" + (audited == 1 ? "" : "s");
  return "published " + std::to_string(relations.size()) + " relation" + (relations.size() == 1 ? "" : "s") + " (" +
         Thousands(rows) + " rows)" + audit + warn;
}

namespace {

// The lakehouse publish (PublishOptions::postgres): DuckDB relations → PostgreSQL, swapped in
// within one transaction.
Status PublishToPostgres(const LoadedProject& project, warehouse::Session* source, const std::vector<Target>& targets,
                         const PublishOptions& options, PublishReport* report) {
  duck::Connection* duck = source->duckdb();
  if (duck == nullptr) {
    return Status::InvalidArgument(
        "publishing to a PostgreSQL server reads the marts from a DuckDB warehouse; this "
        "project's target is " +
        source->engine() + ": publish inside it instead");
  }
  const std::string server = "postgres " + options.postgres->Describe();
  STRATA_ASSIGN_OR_RETURN(auto pg, pg::Connection::Open(*options.postgres));
  CancelScope cancel_pg(options.cancel, [c = pg.get()] { c->Cancel(); });
  const std::string schema = pg::QuoteIdent(options.schema);
  struct Staged {
    const Target* target;
    std::string staging;                                       // schema-qualified
    std::vector<std::pair<std::string, std::string>> indexes;  // staging name, final name
    int64_t rows = 0;
  };
  std::vector<Staged> staged;
  auto publish = [&]() -> Status {
    STRATA_RETURN_IF_ERROR(pg->Begin());
    STRATA_RETURN_IF_ERROR(
        pg->Execute("create schema if not exists " + schema).WithContext("creating schema " + schema));
    STRATA_RETURN_IF_ERROR(pg->Execute("create table if not exists " + schema +
                                       "._strata_publications (relation text, unique_id text, built_from text, "
                                       "row_count bigint, run_id text, logical_date text, published_at timestamptz)")
                               .WithContext("creating the publication log"));
    // 1. Copy each relation into a fresh table; the published ones stay readable meanwhile.
    for (const auto& t : targets) {
      const Node& n = *t.node;
      const std::string what = "publishing " + n.name + " to " + server;
      Staged s{&t, schema + "." + pg::QuoteIdent(PgName(t.table + "__strata_new")), {}, 0};
      const std::string select = "SELECT * FROM " + t.from;
      STRATA_ASSIGN_OR_RETURN(auto columns, warehouse::DescribeForPostgres(duck, select));
      STRATA_RETURN_IF_ERROR(
          pg->Execute("drop table if exists " + s.staging + "; " + warehouse::PostgresCreateTable(s.staging, columns))
              .WithContext(what));
      auto copied = warehouse::CopyToPostgres(duck, select, columns, pg.get(), s.staging, options.cancel);
      if (!copied.ok()) return copied.status().WithContext(what);
      s.rows = copied->rows;
      // Indexes (built once on the full table, faster than maintained during the COPY).
      STRATA_ASSIGN_OR_RETURN(auto indexes, IndexesFor(project, n));
      for (size_t i = 0; i < indexes.size(); ++i) {
        const IndexSpec& ix = indexes[i];
        std::string cols, name = t.table;
        for (const auto& c : ix.columns) {
          cols += (cols.empty() ? "" : ", ") + pg::QuoteIdent(c);
          name += "_" + c;
        }
        const std::string final_name = PgName(name + (ix.unique ? "_key" : "_idx"));
        const std::string staging_name = PgName("_strata_new_" + std::to_string(i) + "_" + final_name);
        STRATA_RETURN_IF_ERROR(pg->Execute(std::string("create ") + (ix.unique ? "unique " : "") + "index " +
                                           pg::QuoteIdent(staging_name) + " on " + s.staging +
                                           (ix.type.empty() ? "" : " using " + ix.type) + " (" + cols + ")")
                                   .WithContext(what + ": index on (" + cols + ")"));
        s.indexes.push_back({staging_name, final_name});
      }
      // Descriptions become comments, so BI tools show them.
      std::string comments;
      if (!n.description.empty()) {
        comments += "comment on table " + s.staging + " is " + pg::QuoteLiteral(n.description) + ";";
      }
      for (const auto& c : columns) {
        if (!n.columns.contains(c.name)) continue;
        const std::string d = n.columns[c.name].value("description", "");
        if (!d.empty()) {
          comments +=
              "comment on column " + s.staging + "." + pg::QuoteIdent(c.name) + " is " + pg::QuoteLiteral(d) + ";";
        }
      }
      if (!comments.empty()) STRATA_RETURN_IF_ERROR(pg->Execute(comments).WithContext(what + ": comments"));
      STRATA_RETURN_IF_ERROR(pg->Execute("analyze " + s.staging).WithContext(what + ": analyze"));
      staged.push_back(std::move(s));
      if (options.on_copied) options.on_copied(t.table);
    }
    // 2. The swap: drop each previous version and rename the new one in.
    for (const auto& s : staged) {
      const Target& t = *s.target;
      const std::string what = "publishing " + t.node->name + " to " + server;
      auto kind = pg->Query(
          "select c.relkind from pg_class c join pg_namespace ns on ns.oid = c.relnamespace "
          "where ns.nspname = $1 and c.relname = $2",
          {options.schema, t.table});
      if (!kind.ok()) return kind.status().WithContext(what);
      if (!kind->rows.empty()) {
        const std::string k = kind->rows[0][0].value_or("r");
        const char* what_kind = k == "v"   ? "view"
                                : k == "m" ? "materialized view"
                                : k == "f" ? "foreign table"
                                           : "table";
        // No CASCADE: views that others built on a mart stop the publish (PostgreSQL names
        // them) rather than disappearing with the old version.
        STRATA_RETURN_IF_ERROR(pg->Execute(std::string("drop ") + what_kind + " " + t.to).WithContext(what));
      }
      std::string swap = "alter table " + s.staging + " rename to " + pg::QuoteIdent(t.table) + ";";
      for (const auto& [from, to] : s.indexes) {
        swap += "alter index " + schema + "." + pg::QuoteIdent(from) + " rename to " + pg::QuoteIdent(to) + ";";
      }
      swap += "insert into " + schema + "._strata_publications values (" + pg::QuoteLiteral(t.table) + ", " +
              pg::QuoteLiteral(t.node->unique_id) + ", " + pg::QuoteLiteral(t.from) + ", " + std::to_string(s.rows) +
              ", " + pg::QuoteLiteral(options.run_id) + ", " + pg::QuoteLiteral(options.logical_date) + ", now())";
      STRATA_RETURN_IF_ERROR(pg->Execute(swap).WithContext(what));
      report->relations.push_back({t.node->unique_id, t.from, options.schema + "." + t.table, s.rows});
    }
    CrashPoint("publish_before_commit");  // crash tests: a kill here must publish nothing
    return pg->Commit();
  };
  Status s = publish();
  if (!s.ok()) {
    if (pg->InTransaction()) (void)pg->Rollback();
    report->relations.clear();
    if (options.cancel != nullptr && options.cancel->cancelled()) return Status::Aborted("publish cancelled");
    return s;
  }
  return Status::OK();
}

}  // namespace

namespace {

// The latest logical date published in options.schema ("" if none yet).
Result<std::string> NewestPublication(warehouse::Engine* db, const PublishOptions& options) {
  if (options.postgres != nullptr) {
    STRATA_ASSIGN_OR_RETURN(auto pg, pg::Connection::Open(*options.postgres));
    const std::string log = pg::QuoteIdent(options.schema) + "._strata_publications";
    STRATA_ASSIGN_OR_RETURN(auto exists, pg->Query("select to_regclass(" + pg::QuoteLiteral(log) + ") is not null"));
    if (exists.Scalar() != "true") return std::string();
    STRATA_ASSIGN_OR_RETURN(auto newest, pg->Query("select coalesce(max(logical_date), '') from " + log));
    return newest.Scalar().value_or("");
  }
  STRATA_ASSIGN_OR_RETURN(auto conn, db->Connect());
  STRATA_ASSIGN_OR_RETURN(auto columns, Columns(conn.get(), options.schema, "_strata_publications"));
  if (columns.empty()) return std::string();
  STRATA_ASSIGN_OR_RETURN(auto newest, conn->Query("SELECT coalesce(max(logical_date), '') FROM " +
                                                   QuoteIdent(options.schema) + "._strata_publications"));
  return newest.Scalar().value_or("");
}

}  // namespace

namespace {

class DbtTests : public PublishGate {
 public:
  std::string name() const override { return "dbt tests"; }
  Result<std::vector<NodeResult>> Audit(const LoadedProject& project, warehouse::Engine* db,
                                        const PublishOptions& options) override {
    Runner runner(&project, db);
    RunOptions ro;
    ro.verb = Verb::kTest;
    ro.selection = options.selection;
    ro.selection.indirect_tests = true;
    ro.cancel = options.cancel;
    ro.on_result = options.on_result;
    STRATA_ASSIGN_OR_RETURN(RunResults results, runner.Execute(ro));
    return std::move(results.results);
  }
};

}  // namespace

std::unique_ptr<PublishGate> DbtTestsGate() { return std::make_unique<DbtTests>(); }

Result<PublishReport> Publish(const LoadedProject& project, warehouse::Engine* db, const PublishOptions& options) {
  if (options.schema.empty()) return Status::InvalidArgument("publish needs a schema to publish to");

  // What to publish: the selected relations themselves (tests are audited below).
  SelectOptions relations_only = options.selection;
  relations_only.indirect_tests = false;
  STRATA_ASSIGN_OR_RETURN(auto ids, SelectNodes(project.manifest, project.graph, relations_only));
  std::vector<Target> targets;
  std::map<std::string, std::string> published_as;  // table -> unique id
  for (const auto& id : ids) {
    const Node* n = project.manifest.Find(id);
    if (n->type != NodeType::kModel && n->type != NodeType::kSeed && n->type != NodeType::kSnapshot) continue;
    if (n->materialized() == "ephemeral") continue;
    std::string table = n->alias.empty() ? n->name : n->alias;
    if (options.postgres == nullptr && n->schema == options.schema) {
      return Status::InvalidArgument("'" + n->name + "' is built in schema '" + options.schema +
                                     "', the schema it would be published to: publish to another schema");
    }
    auto [it, fresh] = published_as.emplace(table, id);
    if (!fresh) {
      return Status::InvalidArgument("'" + project.manifest.Find(it->second)->name + "' and '" + n->name +
                                     "' would both be published as " + options.schema + "." + table);
    }
    targets.push_back(
        {n, RelationText(n->database, n->schema, table), QuoteIdent(options.schema) + "." + QuoteIdent(table), table});
  }
  if (targets.empty()) {
    std::string sel;
    for (const auto& s : options.selection.select) sel += (sel.empty() ? "" : " ") + s;
    return Status::InvalidArgument("the selection '" + sel + "' names no model, seed or snapshot to publish");
  }

  PublishReport report;
  // The warehouse holds the data of every date loaded so far, whatever date this run is: a
  // rerun of an older date must not publish it labelled as that date. Publications only move
  // forward in logical date.
  if (!options.logical_date.empty()) {
    STRATA_ASSIGN_OR_RETURN(std::string newest, NewestPublication(db, options));
    if (!newest.empty() && newest > options.logical_date) {
      report.superseded_by = newest;
      return report;
    }
  }
  // Audit: every gate, on the data just built.
  if (options.audit) {
    std::unique_ptr<PublishGate> dbt_tests;
    std::vector<PublishGate*> gates = options.gates;
    if (gates.empty()) {
      dbt_tests = DbtTestsGate();
      gates.push_back(dbt_tests.get());
    }
    for (PublishGate* gate : gates) {
      STRATA_ASSIGN_OR_RETURN(std::vector<NodeResult> checks, gate->Audit(project, db, options));
      if (options.cancel != nullptr && options.cancel->cancelled()) {
        return Status::Aborted("publish cancelled during audit (" + gate->name() + ")");
      }
      for (auto& r : checks) {
        ++report.audited;
        if (r.status == "fail" || r.status == "error" || r.status == "skipped") {
          report.blocking.push_back(std::move(r));
        } else if (r.status == "warn") {
          report.warnings.push_back(std::move(r));
        }
      }
    }
    if (!report.blocking.empty()) return report;
  }

  // Publish: one transaction, so readers see the old version or the new, never a mix.
  STRATA_ASSIGN_OR_RETURN(auto conn, db->Connect());
  CancelScope interrupt(options.cancel, [c = conn.get()] { c->Interrupt(); });
  STRATA_RETURN_IF_ERROR(interrupt.Check());
  for (const auto& t : targets) {
    STRATA_ASSIGN_OR_RETURN(auto built, Columns(conn.get(), t.node->schema, t.table));
    if (built.empty()) {
      return Status::InvalidArgument("'" + t.node->name + "' has not been built (no relation " + t.from +
                                     "): build it before publishing");
    }
  }
  if (options.postgres != nullptr) {
    STRATA_RETURN_IF_ERROR(PublishToPostgres(project, conn.get(), targets, options, &report));
    report.published = true;
    return report;
  }
  STRATA_RETURN_IF_ERROR(conn->Begin());
  auto publish = [&]() -> Status {
    std::string schema = QuoteIdent(options.schema);
    STRATA_RETURN_IF_ERROR(Run(conn.get(), "CREATE SCHEMA IF NOT EXISTS " + schema, "creating schema " + schema));
    STRATA_RETURN_IF_ERROR(Run(conn.get(),
                               "CREATE TABLE IF NOT EXISTS " + schema +
                                   "._strata_publications (relation VARCHAR, unique_id VARCHAR, built_from VARCHAR, "
                                   "row_count BIGINT, run_id VARCHAR, logical_date VARCHAR, published_at TIMESTAMP)",
                               "creating the publication log"));
    for (const auto& t : targets) {
      const Node& n = *t.node;
      STRATA_RETURN_IF_ERROR(
          Run(conn.get(), "DROP TABLE IF EXISTS " + t.to + "; CREATE TABLE " + t.to + " AS SELECT * FROM " + t.from,
              "publishing " + n.name));
      STRATA_ASSIGN_OR_RETURN(auto count, conn->Query("SELECT count(*) FROM " + t.to));
      int64_t rows = std::stoll(count.Scalar().value_or("0"));
      // Descriptions become comments, so BI tools show them.
      if (!n.description.empty()) {
        STRATA_RETURN_IF_ERROR(
            Run(conn.get(), "COMMENT ON TABLE " + t.to + " IS " + QuoteLiteral(n.description), "commenting " + n.name));
      }
      STRATA_ASSIGN_OR_RETURN(auto columns, Columns(conn.get(), options.schema, t.table));
      for (const auto& [column, type] : columns) {
        if (!n.columns.contains(column)) continue;
        std::string description = n.columns[column].value("description", "");
        if (description.empty()) continue;
        STRATA_RETURN_IF_ERROR(
            Run(conn.get(), "COMMENT ON COLUMN " + t.to + "." + QuoteIdent(column) + " IS " + QuoteLiteral(description),
                "commenting " + n.name + "." + column));
      }
      STRATA_RETURN_IF_ERROR(Run(conn.get(),
                                 "INSERT INTO " + schema + "._strata_publications VALUES (" + QuoteLiteral(t.table) +
                                     ", " + QuoteLiteral(n.unique_id) + ", " + QuoteLiteral(t.from) + ", " +
                                     std::to_string(rows) + ", " + QuoteLiteral(options.run_id) + ", " +
                                     QuoteLiteral(options.logical_date) + ", CAST(now() AS TIMESTAMP))",
                                 "recording the publication of " + n.name));
      report.relations.push_back({n.unique_id, t.from, options.schema + "." + t.table, rows});
    }
    CrashPoint("publish_before_commit");  // crash tests: a kill here must publish nothing
    return conn->Commit();
  };
  Status s = publish();
  if (!s.ok()) {
    (void)conn->Rollback();
    report.relations.clear();
    if (options.cancel != nullptr && options.cancel->cancelled()) return Status::Aborted("publish cancelled");
    return s;
  }
  report.published = true;
  if (!options.serving_dir.empty() && conn->duckdb() != nullptr) {
    auto copy = warehouse::WriteServingCopy(conn->duckdb(), options.schema, options.serving_dir);
    if (!copy.ok()) {
      return copy.status().WithContext(options.schema +
                                       " is published, but not yet for dashboards (publishing again fixes that)");
    }
    report.serving_copy = copy->file;
  }
  return report;
}

}  // namespace strata::transform
