// duckdb_script: runs a SQL script on a DuckDB database file through DuckDB's C API alone
// (no Strata code), the baseline of the transform build benchmark.
//
//   duckdb_script --db FILE --script FILE.sql
//
// Opens the database with DuckDB's default configuration (as `strata build` does), splits
// the script with duckdb_extract_statements, then prepares and executes the statements one
// after another on one connection (each statement is prepared after the previous one ran, so
// it can use what that one created), and closes the database (DuckDB checkpoints on close).
// Prints JSON: total seconds (open to close), the open/execute/close split, per-statement
// seconds, and the first value of every statement that returns a row (the test counts).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "duckdb.h"

namespace {

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

[[noreturn]] void Die(const std::string& msg) {
  std::cerr << "duckdb_script: " << msg << "\n";
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string db_path, script_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--db")
      db_path = argv[i + 1];
    else if (a == "--script")
      script_path = argv[i + 1];
    else
      Die("unknown argument " + a);
  }
  if (db_path.empty() || script_path.empty()) Die("usage: duckdb_script --db FILE --script FILE.sql");
  std::ifstream in(script_path);
  if (!in) Die("cannot read " + script_path);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string script = buf.str();

  double t0 = Now();
  duckdb_database db;
  char* err = nullptr;
  if (duckdb_open_ext(db_path.c_str(), &db, nullptr, &err) != DuckDBSuccess) {
    Die("cannot open " + db_path + ": " + (err ? err : "?"));
  }
  duckdb_connection conn;
  if (duckdb_connect(db, &conn) != DuckDBSuccess) Die("cannot connect");
  double t1 = Now();

  duckdb_extracted_statements stmts;
  idx_t n = duckdb_extract_statements(conn, script.c_str(), &stmts);
  if (n == 0) Die(std::string("cannot split the script: ") + duckdb_extract_statements_error(stmts));
  std::vector<double> seconds;
  std::vector<std::string> values;
  for (idx_t i = 0; i < n; ++i) {
    double s0 = Now();
    duckdb_prepared_statement prepared;
    if (duckdb_prepare_extracted_statement(conn, stmts, i, &prepared) != DuckDBSuccess) {
      Die("statement " + std::to_string(i) + ": " + duckdb_prepare_error(prepared));
    }
    duckdb_result res;
    if (duckdb_execute_prepared(prepared, &res) != DuckDBSuccess) {
      Die("statement " + std::to_string(i) + ": " + duckdb_result_error(&res));
    }
    std::string value = "null";
    if (duckdb_result_statement_type(res) == DUCKDB_STATEMENT_TYPE_SELECT && duckdb_column_count(&res) > 0 &&
        duckdb_row_count(&res) > 0) {
      value = std::to_string(duckdb_value_int64(&res, 0, 0));
    }
    duckdb_destroy_result(&res);
    duckdb_destroy_prepare(&prepared);
    seconds.push_back(Now() - s0);
    values.push_back(value);
  }
  duckdb_destroy_extracted(&stmts);
  double t2 = Now();
  duckdb_disconnect(&conn);
  duckdb_close(&db);
  double t3 = Now();

  std::printf("{\n  \"duckdb_version\": \"%s\",\n  \"statements\": %llu,\n  \"seconds\": %.6f,\n",
              duckdb_library_version(), static_cast<unsigned long long>(n), t3 - t0);
  std::printf("  \"open_s\": %.6f,\n  \"execute_s\": %.6f,\n  \"close_s\": %.6f,\n", t1 - t0, t2 - t1, t3 - t2);
  std::printf("  \"statement_seconds\": [");
  for (size_t i = 0; i < seconds.size(); ++i) std::printf("%s%.6f", i ? ", " : "", seconds[i]);
  std::printf("],\n  \"first_values\": [");
  for (size_t i = 0; i < values.size(); ++i) std::printf("%s%s", i ? ", " : "", values[i].c_str());
  std::printf("]\n}\n");
  return 0;
}
