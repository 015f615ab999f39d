// pg_bench: Strata's PostgreSQL paths against `psql \copy` of the same rows in CSV, measured
// in the same process, alternating, several repetitions.
//
//   pg_bench --project DIR [--warehouse FILE --tables s.t,...] [--transform DIR] [--reps N]
//
// The server comes from PGHOST, PGPORT, PGUSER, PGDATABASE and PGPASSWORD (psql reads the same).
//   raw load:  LoadRawToPostgres of the project's lake into a fresh database (DuckDB reads the
//              lake files, binary COPY, the loaded-file bookkeeping, one transaction per table)
//              vs `psql -c "\copy raw.t from f.csv csv"` per table into the same, pre-created
//              tables, the CSV files exported from the same lake files beforehand (untimed).
//   publish:   for each of --tables (marts in the DuckDB --warehouse): CopyToPostgres into a
//              fresh table vs `psql \copy` of the same rows as CSV; and, with --transform, the
//              whole transform::Publish of path:models/marts (no audit: COPY, indexes,
//              comments, ANALYZE, the swap) into a fresh schema.
// Prints JSON on stdout. Median seconds per side; rows/s ratios are psql_s / strata_s.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench_util.h"
#include "core/project.h"
#include "lake/lake.h"
#include "transform/loader.h"
#include "transform/publish.h"
#include "transform/selector.h"
#include "warehouse/pg_copy.h"
#include "warehouse/session.h"
#include "warehouse/warehouse.h"

namespace fs = std::filesystem;
using namespace strata;
using nlohmann::json;

namespace {

using bench::Median;
using bench::Now;

[[noreturn]] void Die(const Status& s) { bench::Die("pg_bench", s); }

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) Die(r.status());
  return std::move(*r);
}
void Must(const Status& s) {
  if (!s.ok()) Die(s);
}

std::string Env(const char* name, const char* def) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : def;
}

pg::ConnectOptions Options(const std::string& dbname) {
  pg::ConnectOptions o;
  o.host = Env("PGHOST", "127.0.0.1");
  o.port = std::atoi(Env("PGPORT", "5432").c_str());
  o.user = Env("PGUSER", "strata");
  o.password = Env("PGPASSWORD", "");
  o.dbname = dbname;
  return o;
}

// Drops and creates database `name` (through the admin database PGDATABASE).
void FreshDatabase(const std::string& name) {
  auto admin = Must(pg::Connection::Open(Options(Env("PGDATABASE", "postgres"))));
  Must(admin->Execute("drop database if exists " + name + " with (force)"));
  Must(admin->Execute("create database " + name));
}

// `psql \copy <table> from <csv>` of each (table, csv) into database `db`, in one psql process
// (one connection, as a script would); returns each \copy's seconds as psql's \timing reports
// them (process start and connecting excluded: the strictest baseline).
std::vector<double> PsqlCopies(const std::string& db, const std::vector<std::pair<std::string, std::string>>& copies) {
  std::string script = "\\timing on\n";
  for (const auto& [table, csv] : copies) script += "\\copy " + table + " from '" + csv + "' with (format csv)\n";
  std::string cmd = "psql -X -q -v ON_ERROR_STOP=1 -d " + db + " <<'EOF'\n" + script + "EOF\n";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) Die(Status::Internal("cannot run psql"));
  std::vector<double> out;
  char line[512];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    double ms = 0;
    if (std::sscanf(line, "Time: %lf ms", &ms) == 1) out.push_back(ms / 1000);
  }
  int rc = pclose(p);
  if (rc != 0 || out.size() != copies.size()) {
    Die(Status::Internal("psql failed (exit " + std::to_string(rc) + ", " + std::to_string(out.size()) + " of " +
                         std::to_string(copies.size()) + " copies timed)"));
  }
  return out;
}

struct Side {
  std::vector<double> strata, psql;
  int64_t rows = 0;
};

json Report(const std::map<std::string, Side>& sides) {
  json out = json::array();
  for (const auto& [name, s] : sides) {
    double a = Median(s.strata), b = Median(s.psql);
    out.push_back(
        {{"relation", name}, {"rows", s.rows}, {"strata_s", a}, {"psql_s", b}, {"ratio", b / std::max(a, 1e-9)}});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string project_dir, warehouse_file, tables_arg, transform_dir;
  int reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--project")
      project_dir = argv[i + 1];
    else if (a == "--warehouse")
      warehouse_file = argv[i + 1];
    else if (a == "--tables")
      tables_arg = argv[i + 1];
    else if (a == "--transform")
      transform_dir = argv[i + 1];
    else if (a == "--reps")
      reps = std::atoi(argv[i + 1]);
  }
  std::string scratch = fs::temp_directory_path() / ("pg_bench_" + std::to_string(::getpid()));
  fs::create_directories(scratch);
  json result;

  // --- Raw load ------------------------------------------------------------------------------
  if (!project_dir.empty()) {
    auto project = Must(Project::Load(project_dir));
    lake::Lake lake(Must(lake::OpenObjectStore(project.lake_location)));
    auto tables = Must(lake.Tables());
    // The baseline's input: each table's rows as CSV, and its PostgreSQL columns.
    auto db = Must(duck::Database::Open(""));
    auto duck = Must(db->Connect());
    struct Csv {
      std::string relation, file, ddl;
      int64_t rows;
    };
    std::vector<Csv> csvs;
    for (const auto& [source, table] : tables) {
      auto plan = Must(warehouse::PlanTableLoad(&lake, source, table, 0));
      if (plan.files.empty()) continue;
      Csv c;
      c.relation = "raw." + warehouse::Warehouse::RelationName(source, table);
      c.file = scratch + "/" + source + "_" + table + ".csv";
      c.rows = plan.expected_rows;
      auto columns = Must(warehouse::DescribeForPostgres(duck.get(), plan.Select()));
      c.ddl = warehouse::PostgresCreateTable(c.relation, columns);
      std::string select = "SELECT ";
      for (size_t i = 0; i < columns.size(); ++i) select += (i ? ", " : "") + columns[i].select;
      Must(duck->Execute("COPY (" + select + " FROM (" + plan.Select() + ")) TO " + duck::QuoteLiteral(c.file) +
                         " (FORMAT csv, HEADER false)"));
      csvs.push_back(c);
    }
    std::map<std::string, Side> sides;
    std::vector<double> ours_total, psql_total;
    const std::string dbname = "pg_bench_raw";
    for (int rep = 0; rep < reps; ++rep) {
      FreshDatabase(dbname);
      {
        auto conn = Must(pg::Connection::Open(Options(dbname)));
        std::vector<warehouse::LoadResult> results;
        double t0 = Now();
        Must(warehouse::LoadRawToPostgres(&lake, conn.get(), &results));
        ours_total.push_back(Now() - t0);
        for (const auto& r : results) {
          sides[r.relation].strata.push_back(r.seconds);
          sides[r.relation].rows = r.rows;
        }
      }
      FreshDatabase(dbname);
      {
        auto conn = Must(pg::Connection::Open(Options(dbname)));
        Must(conn->Execute("create schema raw"));
        for (const auto& c : csvs) Must(conn->Execute(c.ddl));
      }
      std::vector<std::pair<std::string, std::string>> copies;
      for (const auto& c : csvs) copies.push_back({c.relation, c.file});
      auto times = PsqlCopies(dbname, copies);
      double total = 0;
      for (size_t i = 0; i < csvs.size(); ++i) {
        sides[csvs[i].relation].psql.push_back(times[i]);
        total += times[i];
      }
      psql_total.push_back(total);
    }
    int64_t rows = 0;
    for (const auto& c : csvs) rows += c.rows;
    result["raw_load"] = {{"tables", Report(sides)},
                          {"rows", rows},
                          {"strata_total_s", Median(ours_total)},
                          {"psql_total_s", Median(psql_total)},
                          {"ratio", Median(psql_total) / std::max(Median(ours_total), 1e-9)}};
  }

  // --- Publish: marts from DuckDB ----------------------------------------------------------
  if (!warehouse_file.empty()) {
    auto db = Must(duck::Database::Open(warehouse_file));
    auto duck = Must(db->Connect());
    std::vector<std::string> tables;
    std::stringstream ss(tables_arg);
    for (std::string t; std::getline(ss, t, ',');) {
      if (!t.empty()) tables.push_back(t);
    }
    std::unique_ptr<transform::LoadedProject> loaded;
    if (!transform_dir.empty()) {
      setenv("STRATA_WAREHOUSE", warehouse_file.c_str(), 1);
      setenv("SHOP_TARGET", "dev", 1);
      transform::LoadOptions lo;
      lo.project_dir = transform_dir;
      loaded = Must(transform::LoadedProject::Load(lo));
      if (tables.empty()) {  // the marts: what the whole publish below publishes
        transform::SelectOptions so;
        so.select = {"path:models/marts"};
        so.indirect_tests = false;
        for (const auto& id : Must(transform::SelectNodes(loaded->manifest, loaded->graph, so))) {
          const transform::Node* n = loaded->manifest.Find(id);
          if (n->type != transform::NodeType::kModel || n->materialized() == "ephemeral") continue;
          tables.push_back(n->schema + "." + (n->alias.empty() ? n->name : n->alias));
        }
      }
    }
    const std::string dbname = "pg_bench_publish";
    FreshDatabase(dbname);
    auto conn = Must(pg::Connection::Open(Options(dbname)));
    std::map<std::string, Side> sides;
    std::vector<double> ours_total, psql_total, publish_total;
    struct Mart {
      std::string name, csv;
      std::vector<warehouse::PgColumn> columns;
    };
    std::vector<Mart> marts;
    for (const auto& t : tables) {
      Mart m;
      m.name = t;
      m.csv = scratch + "/" + t + ".csv";
      m.columns = Must(warehouse::DescribeForPostgres(duck.get(), "SELECT * FROM " + t));
      std::string select = "SELECT ";
      for (size_t i = 0; i < m.columns.size(); ++i) select += (i ? ", " : "") + m.columns[i].select;
      Must(duck->Execute("COPY (" + select + " FROM " + t + ") TO " + duck::QuoteLiteral(m.csv) +
                         " (FORMAT csv, HEADER false)"));
      marts.push_back(m);
    }
    for (int rep = 0; rep < reps; ++rep) {
      double ours = 0, theirs = 0;
      std::vector<std::pair<std::string, std::string>> copies;
      for (const auto& m : marts) {
        std::string plain = m.name;
        std::replace(plain.begin(), plain.end(), '.', '_');
        const std::string target = "public." + plain;
        Must(
            conn->Execute("drop table if exists " + target + "; " + warehouse::PostgresCreateTable(target, m.columns)));
        double t0 = Now();
        auto stats =
            Must(warehouse::CopyToPostgres(duck.get(), "SELECT * FROM " + m.name, m.columns, conn.get(), target));
        double t = Now() - t0;
        sides[m.name].strata.push_back(t);
        sides[m.name].rows = stats.rows;
        ours += t;
        Must(conn->Execute("drop table " + target + "; " + warehouse::PostgresCreateTable(target, m.columns)));
        copies.push_back({target, m.csv});
      }
      auto times = PsqlCopies(dbname, copies);
      for (size_t i = 0; i < marts.size(); ++i) {
        sides[marts[i].name].psql.push_back(times[i]);
        theirs += times[i];
      }
      ours_total.push_back(ours);
      psql_total.push_back(theirs);
    }
    int64_t rows = 0;
    for (const auto& [n, s] : sides) rows += s.rows;
    json pub = {{"tables", Report(sides)},
                {"rows", rows},
                {"strata_total_s", Median(ours_total)},
                {"psql_total_s", Median(psql_total)},
                {"ratio", Median(psql_total) / std::max(Median(ours_total), 1e-9)}};
    duck.reset();
    if (loaded) {
      // The whole publish: COPY, indexes, comments, ANALYZE and the swap, in one transaction.
      auto engine = warehouse::DuckDbEngine(db.get(), warehouse_file);
      const pg::ConnectOptions options = Options(dbname);
      transform::PublishOptions po;
      po.selection.select = {"path:models/marts"};
      po.schema = "analytics";
      po.audit = false;
      po.postgres = &options;
      int64_t published_rows = 0;
      for (int rep = 0; rep < reps; ++rep) {
        double t0 = Now();
        auto report = Must(transform::Publish(*loaded, engine.get(), po));
        publish_total.push_back(Now() - t0);
        published_rows = 0;
        for (const auto& r : report.relations) published_rows += r.rows;
      }
      pub["whole_publish"] = {
          {"rows", published_rows}, {"relations", po.selection.select[0]}, {"strata_s", Median(publish_total)}};
    }
    result["publish"] = pub;
  }
  fs::remove_all(scratch);
  std::cout << result.dump(2) << "\n";
  return 0;
}
