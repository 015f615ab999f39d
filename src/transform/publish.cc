#include "transform/publish.h"

#include <map>

#include "core/file.h"

#include "transform/dbt_context.h"
#include "transform/materialize.h"

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

}  // namespace

std::string PublishReport::Summary() const {
  std::string warn = warnings.empty() ? ""
                                      : "; " + std::to_string(warnings.size()) + " warning" +
                                            (warnings.size() == 1 ? "" : "s") + ": ";
  for (size_t i = 0; i < warnings.size(); ++i) warn += (i ? ", " : "") + Describe(warnings[i]);
  if (!published) {
    std::string out = "blocked by " + std::to_string(blocking.size()) + " failing check" +
                      (blocking.size() == 1 ? "" : "s") + ": ";
    for (size_t i = 0; i < blocking.size(); ++i) out += (i ? ", " : "") + Describe(blocking[i]);
    return out + warn;
  }
  int64_t rows = 0;
  for (const auto& r : relations) rows += r.rows;
  std::string audit = audited == 0 ? " (not audited)"
                                    : " after " + std::to_string(audited) + " check" + (audited == 1 ? "" : "s");
  return "published " + std::to_string(relations.size()) + " relation" + (relations.size() == 1 ? "" : "s") + " (" +
         Thousands(rows) + " rows)" + audit + warn;
}

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
    if (n->schema == options.schema) {
      return Status::InvalidArgument("'" + n->name + "' is built in schema '" + options.schema +
                                     "', the schema it would be published to: publish to another schema");
    }
    auto [it, fresh] = published_as.emplace(table, id);
    if (!fresh) {
      return Status::InvalidArgument("'" + project.manifest.Find(it->second)->name + "' and '" + n->name +
                                     "' would both be published as " + options.schema + "." + table);
    }
    targets.push_back({n, RelationText(n->database, n->schema, table), QuoteIdent(options.schema) + "." + QuoteIdent(table),
                       table});
  }
  if (targets.empty()) {
    std::string sel;
    for (const auto& s : options.selection.select) sel += (sel.empty() ? "" : " ") + s;
    return Status::InvalidArgument("the selection '" + sel + "' names no model, seed or snapshot to publish");
  }

  PublishReport report;
  // Audit: every test of the selected relations, on the data just built.
  if (options.audit) {
    Runner runner(&project, db);
    RunOptions ro;
    ro.verb = Verb::kTest;
    ro.selection = options.selection;
    ro.selection.indirect_tests = true;
    ro.cancel = options.cancel;
    ro.on_result = options.on_result;
    STRATA_ASSIGN_OR_RETURN(RunResults audit, runner.Execute(ro));
    if (options.cancel != nullptr && options.cancel->cancelled()) return Status::Aborted("publish cancelled during audit");
    for (auto& r : audit.results) {
      ++report.audited;
      if (r.status == "fail" || r.status == "error" || r.status == "skipped") {
        report.blocking.push_back(std::move(r));
      } else if (r.status == "warn") {
        report.warnings.push_back(std::move(r));
      }
    }
    if (!report.blocking.empty()) return report;
  }

  // Publish: one transaction, so readers see the old version or the new, never a mix.
  STRATA_ASSIGN_OR_RETURN(auto conn, db->Connect());
  CancelScope interrupt(options.cancel, [c = conn.get()] { c->Interrupt(); });
  for (const auto& t : targets) {
    STRATA_ASSIGN_OR_RETURN(auto built, Columns(conn.get(), t.node->schema, t.table));
    if (built.empty()) {
      return Status::InvalidArgument("'" + t.node->name + "' has not been built (no relation " + t.from +
                                     "): build it before publishing");
    }
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
          Run(conn.get(), "CREATE OR REPLACE TABLE " + t.to + " AS SELECT * FROM " + t.from, "publishing " + n.name));
      STRATA_ASSIGN_OR_RETURN(auto count, conn->Query("SELECT count(*) FROM " + t.to));
      int64_t rows = std::stoll(count.Scalar().value_or("0"));
      // Descriptions become comments, so BI tools show them.
      if (!n.description.empty()) {
        STRATA_RETURN_IF_ERROR(Run(conn.get(), "COMMENT ON TABLE " + t.to + " IS " + QuoteLiteral(n.description),
                                   "commenting " + n.name));
      }
      STRATA_ASSIGN_OR_RETURN(auto columns, Columns(conn.get(), options.schema, t.table));
      for (const auto& [column, type] : columns) {
        if (!n.columns.contains(column)) continue;
        std::string description = n.columns[column].value("description", "");
        if (description.empty()) continue;
        STRATA_RETURN_IF_ERROR(Run(conn.get(),
                                   "COMMENT ON COLUMN " + t.to + "." + QuoteIdent(column) + " IS " +
                                       QuoteLiteral(description),
                                   "commenting " + n.name + "." + column));
      }
      STRATA_RETURN_IF_ERROR(Run(conn.get(),
                                 "INSERT INTO " + schema + "._strata_publications VALUES (" + QuoteLiteral(t.table) +
                                     ", " + QuoteLiteral(n.unique_id) + ", " + QuoteLiteral(t.from) + ", " +
                                     std::to_string(rows) + ", " + QuoteLiteral(options.run_id) + ", " +
                                     QuoteLiteral(options.logical_date) + ", now()::TIMESTAMP)",
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
  return report;
}

}  // namespace strata::transform
