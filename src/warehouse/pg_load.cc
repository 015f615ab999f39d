// Raw loads into PostgreSQL: the lake files read by an in-memory DuckDB, streamed with
// binary COPY (pg_copy.h), the loaded-file set written in the same transaction.
#include <chrono>
#include <map>

#include "core/file.h"
#include "core/transaction.h"
#include "warehouse/pg_copy.h"
#include "warehouse/warehouse.h"

namespace strata::warehouse {

namespace {

using pg::QuoteIdent;
using pg::QuoteLiteral;

// PostgreSQL's format_type() spelling of our type names, to compare with a table's columns.
std::string Canonical(const std::string& pg_type) {
  if (pg_type == "timestamp") return "timestamp without time zone";
  if (pg_type == "timestamptz") return "timestamp with time zone";
  if (pg_type == "time") return "time without time zone";
  return pg_type;
}

bool Numeric(const std::string& t) {
  return t == "smallint" || t == "integer" || t == "bigint" || t == "real" || t == "double precision" ||
         t.rfind("numeric", 0) == 0;
}

// The column type holding both (as WidenDuckType on the DuckDB side).
std::string Widen(const std::string& have, const std::string& incoming) {
  if (have == incoming) return have;
  if (Numeric(have) && Numeric(incoming)) return "double precision";
  return "text";
}

Status EnsureMetadata(pg::Connection* pg) {
  auto exists = pg->Query("select to_regclass('raw._strata_loaded_files') is not null");
  if (exists.ok() && exists->Scalar() == "true") return Status::OK();
  return pg->Execute(
      "create schema if not exists raw;"
      "create table if not exists raw._strata_loaded_files ("
      "  file_key text primary key, source text not null, table_name text not null,"
      "  batch_id text not null, sequence bigint not null, rows bigint not null,"
      "  sha256 text not null, loaded_at timestamptz not null default now())");
}

Status LoadTable(lake::Lake* lake, duck::Connection* duck, pg::Connection* pg, const std::string& source,
                 const std::string& table, LoadResult* result, CancelToken* cancel) {
  const std::string name = Warehouse::RelationName(source, table);
  const std::string rel = "raw." + QuoteIdent(name);
  STRATA_ASSIGN_OR_RETURN(auto tx, Transaction<pg::Connection>::Begin(pg));
  // Inside the transaction: a concurrent load of the same files fails on the primary key of
  // _strata_loaded_files at commit and keeps nothing.
  auto done = pg->Query(
      "select coalesce(max(sequence), 0) from raw._strata_loaded_files where source = $1 and "
      "table_name = $2",
      {source, table});
  if (!done.ok()) return done.status();
  auto plan = PlanTableLoad(lake, source, table, std::stoll(done->Scalar().value_or("0")));
  if (!plan.ok()) return plan.status();
  if (plan->manifests.empty()) return Status::OK();
  result->batches = static_cast<int>(plan->manifests.size());
  result->files = static_cast<int>(plan->files.size());

  std::vector<PgColumn> columns;
  if (!plan->files.empty()) {
    auto described = DescribeForPostgres(duck, plan->Select());
    if (!described.ok()) return plan->ExplainReadFailure(duck, described.status());
    columns = std::move(*described);
  } else {
    for (const auto& col : plan->schema) {
      PgColumn c;
      c.name = col.name;
      c.duck_type = col.type;
      c.pg_type = PostgresTypeFor(col.type, nullptr);
      columns.push_back(c);
    }
  }

  // Create or evolve the table; values go in as the table's column types.
  auto existing = pg->Query(
      "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a where "
      "a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped order by a.attnum",
      {"raw." + QuoteIdent(name)});
  if (!existing.ok()) return existing.status();
  if (existing->rows.empty()) {
    std::vector<PgColumn> ddl = columns;
    if (plan->files.empty()) {
      PgColumn f;
      f.name = "_lake_file";
      f.pg_type = "text";
      ddl.push_back(f);
    }
    ddl.back().pg_type = "text not null";  // _lake_file
    Status s = pg->Execute(PostgresCreateTable(rel, ddl));
    if (!s.ok()) return s;
  } else {
    std::map<std::string, std::string> have;
    for (const auto& row : existing->rows) have[*row[0]] = *row[1];
    for (auto& col : columns) {
      const std::string want = Canonical(col.pg_type);
      auto it = have.find(col.name);
      if (it == have.end()) {
        Status s = pg->Execute("alter table " + rel + " add column " + QuoteIdent(col.name) + " " + col.pg_type);
        if (!s.ok()) return s;
        result->added_columns.push_back(col.name);
        continue;
      }
      std::string target = it->second;
      if (target != want) {
        const std::string wider = Widen(target, want);
        if (wider != target) {
          Status s = pg->Execute("alter table " + rel + " alter column " + QuoteIdent(col.name) + " type " + wider +
                                 " using " + QuoteIdent(col.name) + "::" + wider);
          if (!s.ok()) return s;
          target = wider;
        }
        // The column is wider than this batch's values: convert them in DuckDB.
        if (target == "double precision") {
          col.select = "CAST(" + duck::QuoteIdent(col.name) + " AS DOUBLE)";
        } else if (target == "text") {
          col.select = "CAST(" + duck::QuoteIdent(col.name) + " AS VARCHAR)";
        } else {
          return Status::InvalidArgument("column " + col.name + " of " + rel + " is " + target + ", the lake has " +
                                         col.duck_type + " values");
        }
        col.pg_type = target;
      }
    }
  }

  if (!plan->files.empty()) {
    auto copied = CopyToPostgres(duck, plan->Select(), columns, pg, rel, cancel);
    if (!copied.ok()) {
      Status s = copied.status();
      if (s.code() == Status::Code::kInvalidArgument) s = plan->ExplainReadFailure(duck, s);
      return s;
    }
    if (copied->rows != plan->expected_rows) {
      return Status::Corruption("lake files of " + source + "." + table + " hold " + std::to_string(copied->rows) +
                                " rows, their manifests say " + std::to_string(plan->expected_rows));
    }
    result->rows = copied->rows;
  }

  // The loaded files (and a marker for each batch without files, everything quarantined).
  std::string values;
  auto add = [&](const std::string& key, const lake::Manifest& m, int64_t rows, const std::string& sha) {
    values += (values.empty() ? "(" : ", (") + QuoteLiteral(key) + ", " + QuoteLiteral(source) + ", " +
              QuoteLiteral(table) + ", " + QuoteLiteral(m.batch_id) + ", " + std::to_string(m.sequence) + ", " +
              std::to_string(rows) + ", " + QuoteLiteral(sha) + ")";
  };
  for (const auto& f : plan->files) add(f.file->key, *f.manifest, f.file->rows, f.file->sha256);
  for (const auto& [m, marker] : plan->markers) add(marker, *m, 0, "");
  Status s = pg->Execute(
      "insert into raw._strata_loaded_files (file_key, source, table_name, batch_id, sequence, "
      "rows, sha256) values " +
      values);
  if (!s.ok()) return s.WithContext("recording the loaded lake files");
  CrashPoint("load_before_commit");
  return tx.Commit();
}

}  // namespace

Status LoadRawToPostgres(lake::Lake* lake, pg::Connection* pg, std::vector<LoadResult>* results,
                         const std::function<void(const LoadResult&)>& on_table, CancelToken* cancel) {
  STRATA_RETURN_IF_ERROR(
      EnsureMetadata(pg).WithContext("preparing the raw schema in postgres " + pg->options().Describe()));
  STRATA_ASSIGN_OR_RETURN(auto db, duck::Database::Open(""));
  STRATA_ASSIGN_OR_RETURN(auto duck, db->Connect());
  STRATA_ASSIGN_OR_RETURN(auto tables, lake->Tables());
  Status first_error;
  int failed = 0;
  for (const auto& [source, table] : tables) {
    if (cancel != nullptr && cancel->cancelled()) return Status::Aborted("cancelled: " + cancel->reason());
    LoadResult r;
    r.source = source;
    r.table = table;
    r.relation = "raw." + Warehouse::RelationName(source, table);
    auto start = std::chrono::steady_clock::now();
    Status s = LoadTable(lake, duck.get(), pg, source, table, &r, cancel);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!s.ok()) {
      // A lost server fails every table the same way: stop at the first.
      if (s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kAborted) {
        return s.WithContext("loading " + r.relation);
      }
      if (s.code() == Status::Code::kCorruption) s = WithSetAsideHint(s, source, table);
      if (failed++ == 0) first_error = s.WithContext("loading " + r.relation);
      continue;
    }
    if (on_table) on_table(r);
    results->push_back(std::move(r));
  }
  if (failed > 1) return first_error.WithContext(std::to_string(failed) + " tables failed to load; the first");
  return first_error;
}

}  // namespace strata::warehouse
