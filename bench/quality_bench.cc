// The quality section of `make bench`: a 20-expectation suite on a table of N rows (default 10
// million) in DuckDB, validated by Strata, against
//   - one hand-written aggregate query computing the same metrics (the floor: goal <= 1.3x),
//   - one query per expectation, the way GE and dbt tests run (the speed-up).
// Every expectation passes, so Strata fetches no samples. Medians of --reps alternating runs;
// prints JSON.
//
//   quality_bench [--rows N] [--reps R] [--postgres]
//
// --postgres: the table and the queries on the server PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE
// name (a row store, where every query reads whole rows).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "db/postgres.h"
#include "quality/suite.h"
#include "quality/validator.h"
#include "warehouse/session.h"

using nlohmann::json;
using strata::quality::Batch;
using strata::quality::ParseSuite;
using strata::quality::Validate;
using strata::quality::ValidateOptions;
using strata::quality::ValidateStats;

namespace {

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "quality_bench: %s\n", what.c_str());
  std::exit(1);
}

// The suite, and for each expectation the query GE or a dbt test would send for it alone.
struct Case {
  json expectation;
  std::string alone;
  bool heavy = false;  // sorts or hashes every value (median, distinct counts) or runs a regex
};

// The SQL of DuckDB, rewritten for PostgreSQL where the two differ.
std::string ForEngine(std::string sql, bool pg) {
  if (!pg) return sql;
  auto replace = [&](const std::string& from, const std::string& to) {
    for (size_t at = sql.find(from); at != std::string::npos; at = sql.find(from, at + to.size())) {
      sql.replace(at, from.size(), to);
    }
  };
  replace("regexp_matches(email, '^[a-z0-9]+@example[.]com$')", "email ~ '^[a-z0-9]+@example[.]com$'");
  replace("quantile_cont(amount, 0.5)", "percentile_cont(0.5) within group (order by amount)");
  return sql;
}

std::vector<Case> Cases() {
  auto e = [](const char* type, json kwargs) { return json{{"expectation_type", type}, {"kwargs", kwargs}}; };
  const std::string statuses = "('placed', 'shipped', 'delivered', 'cancelled', 'returned')";
  return {
      {e("expect_table_row_count_to_be_between", {{"min_value", 1}}), "select count(*) from t"},
      {e("expect_column_values_to_not_be_null", {{"column", "id"}}), "select count(*) from t where id is null"},
      {e("expect_column_values_to_not_be_null", {{"column", "status"}}), "select count(*) from t where status is null"},
      {e("expect_column_values_to_not_be_null", {{"column", "qty"}, {"mostly", 0.95}}),
       "select count(*), count(qty) from t"},
      {e("expect_column_values_to_be_in_set",
         {{"column", "status"}, {"value_set", {"placed", "shipped", "delivered", "cancelled", "returned"}}}),
       "select count(*) from t where status is not null and status not in " + statuses},
      {e("expect_column_values_to_not_be_in_set", {{"column", "status"}, {"value_set", {"lost", "unknown"}}}),
       "select count(*) from t where status in ('lost', 'unknown')"},
      {e("expect_column_values_to_be_between", {{"column", "amount"}, {"min_value", 0}, {"max_value", 100}}),
       "select count(*) from t where amount is not null and not (amount >= 0 and amount <= 100)"},
      {e("expect_column_values_to_be_between", {{"column", "qty"}, {"min_value", 0}, {"max_value", 9}}),
       "select count(*) from t where qty is not null and not (qty >= 0 and qty <= 9)"},
      {e("expect_column_values_to_match_regex", {{"column", "email"}, {"regex", "^[a-z0-9]+@example[.]com$"}}),
       "select count(*) from t where email is not null and not regexp_matches(email, '^[a-z0-9]+@example[.]com$')",
       true},
      {e("expect_column_values_to_match_like_pattern", {{"column", "email"}, {"like_pattern", "user%"}}),
       "select count(*) from t where email is not null and not email like 'user%'"},
      {e("expect_column_value_lengths_to_be_between", {{"column", "email"}, {"min_value", 5}, {"max_value", 40}}),
       "select count(*) from t where email is not null and not (length(email) >= 5 and length(email) <= 40)"},
      {e("expect_column_mean_to_be_between", {{"column", "amount"}, {"min_value", 0}, {"max_value", 100}}),
       "select avg(amount) from t"},
      {e("expect_column_median_to_be_between", {{"column", "amount"}, {"min_value", 0}, {"max_value", 100}}),
       "select quantile_cont(amount, 0.5) from t", true},
      {e("expect_column_stdev_to_be_between", {{"column", "amount"}, {"min_value", 0}, {"max_value", 100}}),
       "select stddev_samp(amount) from t"},
      {e("expect_column_sum_to_be_between", {{"column", "qty"}, {"min_value", 0}}), "select sum(qty) from t"},
      {e("expect_column_min_to_be_between", {{"column", "amount"}, {"min_value", 0}}), "select min(amount) from t"},
      {e("expect_column_max_to_be_between", {{"column", "amount"}, {"max_value", 100}}), "select max(amount) from t"},
      {e("expect_column_unique_value_count_to_be_between", {{"column", "customer_id"}, {"min_value", 1}}),
       "select count(distinct customer_id) from t", true},
      {e("expect_column_proportion_of_unique_values_to_be_between", {{"column", "status"}, {"max_value", 0.5}}),
       "select count(distinct status), count(status) from t", true},
      {e("expect_column_pair_values_A_to_be_greater_than_B",
         {{"column_A", "amount"}, {"column_B", "qty"}, {"or_equal", true}, {"mostly", 0.5}}),
       "select count(*) from t where not (amount is null and qty is null) and (amount >= qty) is not true"},
  };
}

// The same metrics as one aggregate query, written by hand.
const char* kHandWritten =
    R"(select count(*), count(*) filter (where id is null), count(*) filter (where status is null),
  count(qty), count(*) filter (where status is not null and status not in ('placed', 'shipped', 'delivered', 'cancelled', 'returned')),
  count(*) filter (where status in ('lost', 'unknown')),
  count(*) filter (where amount is not null and not (amount >= 0 and amount <= 100)),
  count(*) filter (where qty is not null and not (qty >= 0 and qty <= 9)),
  count(*) filter (where email is not null and not regexp_matches(email, '^[a-z0-9]+@example[.]com$')),
  count(*) filter (where email is not null and not email like 'user%'),
  count(*) filter (where email is not null and not (length(email) >= 5 and length(email) <= 40)),
  avg(amount), quantile_cont(amount, 0.5), stddev_samp(amount), sum(qty), min(amount), max(amount),
  count(distinct customer_id), count(distinct status), count(status),
  count(*) filter (where not (amount is null and qty is null) and (amount >= qty) is not true)
from t)";

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 10'000'000;
  int reps = 3;
  bool pg = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--postgres") == 0) pg = true;
    if (i + 1 < argc && std::strcmp(argv[i], "--rows") == 0) rows = std::atoll(argv[i + 1]);
    if (i + 1 < argc && std::strcmp(argv[i], "--reps") == 0) reps = std::atoi(argv[i + 1]);
  }
  auto env = [](const char* name, const char* def) {
    const char* v = std::getenv(name);
    return std::string(v != nullptr && *v != '\0' ? v : def);
  };
  strata::Result<std::unique_ptr<strata::warehouse::Engine>> engine = strata::Status::Internal("no engine");
  if (pg) {
    strata::pg::ConnectOptions o;
    o.host = env("PGHOST", "127.0.0.1");
    o.port = std::atoi(env("PGPORT", "5432").c_str());
    o.user = env("PGUSER", "postgres");
    o.password = env("PGPASSWORD", "");
    o.dbname = env("PGDATABASE", "postgres");
    engine = strata::warehouse::OpenPostgres(o);
  } else {
    engine = strata::warehouse::OpenDuckDb("");
  }
  if (!engine.ok()) Die(engine.status().ToString());
  auto session = (*engine)->Connect();
  if (!session.ok()) Die(session.status().ToString());
  auto& s = **session;
  const double made_at = Now();
  const std::string n = std::to_string(rows);
  strata::Status made =
      s.Execute(std::string("drop table if exists t; create table t as select i as id, i % 100000 as customer_id, "
                            "cast(((i * 7919) % 10000) / 100.0 as double precision) as amount, ") +
                (pg ? "(array['placed', 'shipped', 'delivered', 'cancelled', 'returned'])[i % 5 + 1]"
                    : "['placed', 'shipped', 'delivered', 'cancelled', 'returned'][i % 5 + 1]") +
                " as status, date '2024-01-01' + cast(i % 365 as integer) as day, "
                "'user' || (i % 50000) || '@example.com' as email, "
                "case when i % 97 = 0 then null else i % 10 end as qty from " +
                (pg ? "generate_series(cast(0 as bigint), " + n + " - 1) r(i); analyze t" : "range(" + n + ") r(i)"));
  if (!made.ok()) Die(made.ToString());
  const double made_s = Now() - made_at;

  const std::vector<Case> cases = Cases();
  json suite_json = {{"expectation_suite_name", "bench"}, {"expectations", json::array()}};
  json light_json = {{"expectation_suite_name", "bench.light"}, {"expectations", json::array()}};
  for (const auto& c : cases) {
    suite_json["expectations"].push_back(c.expectation);
    if (!c.heavy) light_json["expectations"].push_back(c.expectation);
  }
  auto suite = ParseSuite(suite_json.dump(), "bench.json");
  if (!suite.ok()) Die(suite.status().ToString());
  auto light = ParseSuite(light_json.dump(), "bench.light.json");
  if (!light.ok()) Die(light.status().ToString());
  Batch batch;
  batch.relation = "t";

  std::vector<double> strata_s, hand_s, each_s, light_s, light_each_s;
  ValidateStats stats;
  bool all_passed = true;
  for (int r = 0; r < reps; ++r) {
    double t0 = Now();
    stats = ValidateStats();
    auto result = Validate(&s, *suite, batch, ValidateOptions(), &stats);
    if (!result.ok()) Die(result.status().ToString());
    strata_s.push_back(Now() - t0);
    all_passed = all_passed && (*result)["success"].get<bool>();
    if (!(*result)["success"].get<bool>()) std::fprintf(stderr, "%s\n", result->dump(1).c_str());
    t0 = Now();
    auto hand = s.Query(ForEngine(kHandWritten, pg));
    if (!hand.ok()) Die(hand.status().ToString());
    hand_s.push_back(Now() - t0);
    double each = 0, light_each = 0;
    for (const auto& c : cases) {
      t0 = Now();
      auto one = s.Query(ForEngine(c.alone, pg));
      if (!one.ok()) Die(one.status().ToString() + " in: " + c.alone);
      const double took = Now() - t0;
      each += took;
      if (!c.heavy) light_each += took;
    }
    each_s.push_back(each);
    light_each_s.push_back(light_each);
    t0 = Now();
    auto light_result = Validate(&s, *light, batch, ValidateOptions(), nullptr);
    if (!light_result.ok()) Die(light_result.status().ToString());
    light_s.push_back(Now() - t0);
  }
  if (pg) (void)s.Execute("drop table t");
  json out = {{"engine", pg ? "postgres" : "duckdb"},
              {"rows", rows},
              {"expectations", cases.size()},
              {"reps", reps},
              {"make_table_s", made_s},
              {"all_passed", all_passed},
              {"strata_queries", stats.queries},
              {"strata_s", strata_s},
              {"hand_written_s", hand_s},
              {"one_query_each_s", each_s},
              {"strata_median_s", Median(strata_s)},
              {"hand_written_median_s", Median(hand_s)},
              {"one_query_each_median_s", Median(each_s)},
              {"light_expectations", light->expectations.size()},
              {"light_strata_median_s", Median(light_s)},
              {"light_one_query_each_median_s", Median(light_each_s)}};
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
