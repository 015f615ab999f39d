// The transformation engine end to end on small hand-written projects. Every expected value
// below was worked out by hand from the fixture, not copied from the engine's output.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/file.h"
#include "testing.h"
#include "transform/loader.h"
#include "transform/publish.h"
#include "transform/runner.h"
#include "transform/target.h"
#include "warehouse/session.h"

namespace strata::transform {
namespace {

using strata::testing::TempDir;
using strata::testing::WriteText;

class EngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    WriteText(dir_.Sub("dbt_project.yml"), R"(
name: shop
profile: shop
vars: {discount_rate: 0.1}
models:
  shop:
    +materialized: view
    marts:
      +materialized: table
      +schema: marts
)");
    if (GetParam() == "postgres") {
      // Each test in its own schemas of the shared test cluster.
      const testing::PgServer* pg = testing::Postgres();
      ASSERT_NE(pg, nullptr);
      schema_ = testing::PgTestSchema("e");
      WriteText(dir_.Sub("profiles.yml"),
                "shop:\n  target: dev\n  outputs:\n    dev: " + testing::PgProfileTarget(*pg, schema_, 2) + "\n");
    } else {
      WriteText(dir_.Sub("profiles.yml"), R"(
shop:
  target: dev
  outputs:
    dev: {type: duckdb, path: "{{ env_var('STRATA_TEST_WH', 'wh.duckdb') }}", threads: 2}
)");
    }
  }
  void TearDown() override {
    if (GetParam() != "postgres" || !db_) return;
    auto c = db_->Connect();
    if (!c.ok()) return;
    auto schemas = (*c)->Query("SELECT nspname FROM pg_namespace WHERE nspname LIKE '" + schema_ + "%'");
    if (!schemas.ok()) return;
    for (const auto& row : schemas->rows) (void)(*c)->Execute("DROP SCHEMA IF EXISTS \"" + *row[0] + "\" CASCADE");
  }

  // The target schema ("main" on DuckDB); "{S}" in SQL text stands for it.
  std::string S(const std::string& suffix = "") const { return schema_ + suffix; }
  std::string Sql(std::string sql) const {
    for (size_t pos; (pos = sql.find("{S}")) != std::string::npos;) sql.replace(pos, 3, schema_);
    return sql;
  }
  // Runs statements on the warehouse directly (test data the models read).
  void Exec(const std::string& sql) {
    if (!db_) {
      auto e = warehouse::OpenEngine(TargetOf(LoadProfileOnly()));
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      db_ = std::move(*e);
    }
    auto c = db_->Connect();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    Status st = (*c)->Execute(Sql(sql));
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  Profile LoadProfileOnly() {
    LoadOptions lo;
    lo.project_dir = dir_.path();
    auto p = LoadedProject::Load(lo);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? (*p)->profile : Profile();
  }

  Result<RunResults> Run(Verb verb, std::vector<std::string> select = {}, bool full_refresh = false, int threads = 0) {
    LoadOptions lo;
    lo.project_dir = dir_.path();
    lo.full_refresh = full_refresh;
    lo.run_started_at = run_started_at_;
    lo.empty = empty_;
    auto p = LoadedProject::Load(lo);
    if (!p.ok()) return p.status();
    project_ = std::move(*p);
    db_.reset();
    auto db = warehouse::OpenEngine(TargetOf(project_->profile));
    if (!db.ok()) return db.status();
    db_ = std::move(*db);
    Runner runner(project_.get(), db_.get());
    RunOptions ro;
    ro.verb = verb;
    ro.selection.select = std::move(select);
    ro.full_refresh = full_refresh;
    ro.threads = threads;
    auto r = runner.Execute(ro);
    if (r.ok()) {
      EXPECT_TRUE(runner.WriteArtifacts(&*r, ro).ok());
    }
    return r;
  }

  std::vector<std::string> Rows(const std::string& sql) {
    auto c = *db_->Connect();
    auto r = c->Query(Sql(sql));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? testing::RowLines(*r) : std::vector<std::string>();
  }

  const NodeResult* Result_(const RunResults& r, const std::string& name) {
    for (const auto& x : r.results) {
      if (x.name == name) return &x;
    }
    return nullptr;
  }

  TempDir dir_;
  std::string run_started_at_;  // "" = now
  bool empty_ = false;          // --empty
  std::unique_ptr<LoadedProject> project_;
  std::unique_ptr<warehouse::Engine> db_;
  std::string schema_ = "main";
};

using V = std::vector<std::string>;

TEST_P(EngineTest, SeedsViewsTablesEphemeralAndConfigPrecedence) {
  WriteText(dir_.Sub("seeds/raw_orders.csv"), "id,customer,amount\n1,ann,10.00\n2,bob,20.50\n3,ann,5.25\n");
  WriteText(dir_.Sub("seeds/_seeds.yml"),
            "version: 2\nseeds:\n  - name: raw_orders\n    config:\n      column_types: {amount: 'decimal(10,2)'}\n");
  // Ephemeral: inlined into its consumer as a CTE.
  WriteText(dir_.Sub("models/staging/stg_orders.sql"),
            "{{ config(materialized='ephemeral') }}\nselect id, customer, amount from {{ ref('raw_orders') }}");
  // Folder says view; YAML says table; config() in the file says view again: file wins.
  WriteText(dir_.Sub("models/staging/stg_customers.sql"),
            "{{ config(materialized='view') }}\nselect distinct customer from {{ ref('stg_orders') }}");
  WriteText(dir_.Sub("models/staging/_staging.yml"),
            "version: 2\nmodels:\n  - name: stg_customers\n    config: {materialized: table}\n"
            "  - name: stg_orders\n    description: orders\n");
  // marts folder: table, in schema main_marts; YAML overrides folder.
  WriteText(dir_.Sub("models/marts/customer_revenue.sql"),
            "with o as (select * from {{ ref('stg_orders') }})\n"
            "select customer, sum(amount) as revenue, round(sum(amount) * (1 - {{ var('discount_rate') }}), 2) as net\n"
            "from o group by customer order by customer");
  auto r = Run(Verb::kBuild);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const auto& x : r->results) EXPECT_NE(x.status, "error") << x.name << ": " << x.message;
  // ann: 10.00 + 5.25 = 15.25, net 15.25 * 0.9 = 13.725 -> 13.73 (round half away); bob: 20.50, 18.45.
  EXPECT_EQ(Rows("select customer, revenue, cast(net as double precision) from {S}_marts.customer_revenue order by 1"),
            (V{"ann|15.25|13.73", "bob|20.50|18.45"}));
  EXPECT_EQ(
      Rows("select table_schema, table_name, table_type from information_schema.tables "
           "where table_schema like '{S}%' and table_name in ('stg_customers', 'customer_revenue', 'stg_orders', "
           "'raw_orders') order by 2"),
      (V{S("_marts") + "|customer_revenue|BASE TABLE", S() + "|raw_orders|BASE TABLE", S() + "|stg_customers|VIEW"}));
  const NodeResult* rev = Result_(*r, "customer_revenue");
  ASSERT_NE(rev, nullptr);
  EXPECT_NE(rev->compiled_sql.find("__dbt__cte__stg_orders as ("), std::string::npos) << rev->compiled_sql;
  // A seed loads its seed_path; its raw_code is empty, as in dbt's manifest.
  const Node* seed = project_->manifest.Find("seed.shop.raw_orders");
  ASSERT_NE(seed, nullptr);
  EXPECT_EQ(seed->raw_code, "");
  EXPECT_EQ(seed->seed_path, project_->project.root + "/seeds/raw_orders.csv");
  const NodeResult* seed_result = Result_(*r, "raw_orders");
  ASSERT_NE(seed_result, nullptr);
  EXPECT_EQ(seed_result->compiled_sql, "-- seed " + seed->seed_path);
  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("target/manifest.json")));
  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("target/run_results.json")));
}

TEST_P(EngineTest, IncrementalStrategies) {
  // The models read a table the test rewrites between runs.
  WriteText(dir_.Sub("models/events.sql"), Sql("select * from {S}_src.events"));
  auto events = [&](const std::string& values) {
    Exec(
        "create schema if not exists {S}_src; "
        "create table if not exists {S}_src.events (k1 varchar, k2 integer, v varchar, ts integer); "
        "delete from {S}_src.events; "
        "insert into {S}_src.events values " +
        values);
  };
  auto incremental = [&](const std::string& name, const std::string& config) {
    WriteText(dir_.Sub("models/" + name + ".sql"),
              "{{ config(materialized='incremental', " + config +
                  ") }}\n"
                  "select k1, k2, v, ts from {{ ref('events') }}\n"
                  "{% if is_incremental() %}where ts > (select max(ts) from {{ this }}) - 1{% endif %}");
  };
  incremental("inc_append", "incremental_strategy='append'");
  incremental("inc_merge", "incremental_strategy='merge', unique_key=['k1', 'k2']");
  incremental("inc_delins", "incremental_strategy='delete+insert', unique_key=['k1', 'k2']");
  events("('a', 1, 'first', 1), ('a', 2, 'first', 2), ('b', 1, 'first', 3)");
  auto r1 = Run(Verb::kRun);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  for (const auto& x : r1->results) EXPECT_EQ(x.status, "success") << x.name << ": " << x.message;

  // Run 2: (a,2) updated late (ts 3, inside the look-back of 1), (b,2) new; (a,1) unchanged.
  // The window is ts > 3 - 1 = 2, so rows with ts 3 and 4 arrive: (b,1,first,3), (a,2,second,3), (b,2,new,4).
  events("('a', 1, 'first', 1), ('a', 2, 'second', 3), ('b', 1, 'first', 3), ('b', 2, 'new', 4)");
  auto r2 = Run(Verb::kRun);
  ASSERT_TRUE(r2.ok());
  for (const auto& x : r2->results) EXPECT_EQ(x.status, "success") << x.name << ": " << x.message;
  // append: 3 old + 3 arriving rows.
  EXPECT_EQ(Rows("select k1, k2, v from {S}.inc_append order by 1, 2, 3"),
            (V{"a|1|first", "a|2|first", "a|2|second", "b|1|first", "b|1|first", "b|2|new"}));
  // merge and delete+insert on the composite key: one row per key, latest values.
  V merged{"a|1|first", "a|2|second", "b|1|first", "b|2|new"};
  EXPECT_EQ(Rows("select k1, k2, v from {S}.inc_merge order by 1, 2, 3"), merged);
  EXPECT_EQ(Rows("select k1, k2, v from {S}.inc_delins order by 1, 2, 3"), merged);

  // A duplicate key in a merge batch is an error, and the table keeps its rows.
  events("('a', 1, 'x', 9), ('a', 1, 'y', 9)");
  auto r3 = Run(Verb::kRun, {"inc_merge"});
  ASSERT_TRUE(r3.ok());
  const NodeResult* m = Result_(*r3, "inc_merge");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->status, "error");
  EXPECT_NE(m->message.find("unique key more than once"), std::string::npos) << m->message;
  EXPECT_EQ(Rows("select k1, k2, v from {S}.inc_merge order by 1, 2, 3"), merged);

  // delete+insert accepts it (both rows replace key (a,1)).
  auto r4 = Run(Verb::kRun, {"inc_delins"});
  ASSERT_TRUE(r4.ok());
  EXPECT_EQ(Rows("select k1, k2, v from {S}.inc_delins order by 1, 2, 3"),
            (V{"a|1|x", "a|1|y", "a|2|second", "b|1|first", "b|2|new"}));
}

TEST_P(EngineTest, SchemaChangePolicies) {
  auto model = [&](const std::string& policy, const std::string& select) {
    WriteText(
        dir_.Sub("models/inc_" + policy + ".sql"),
        "{{ config(materialized='incremental', unique_key='id', on_schema_change='" + policy + "') }}\n" + select);
  };
  for (const char* p : {"ignore", "fail", "append_new_columns", "sync_all_columns"}) {
    model(p, "select 1 as id, 'a' as old_col");
  }
  ASSERT_TRUE(Run(Verb::kRun).ok());
  for (const char* p : {"ignore", "fail", "append_new_columns", "sync_all_columns"}) {
    model(p, "select 2 as id, 'b' as new_col");
  }
  auto r = Run(Verb::kRun);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Result_(*r, "inc_fail")->status, "error");
  EXPECT_NE(Result_(*r, "inc_fail")->message.find("new: new_col; removed: old_col"), std::string::npos)
      << Result_(*r, "inc_fail")->message;
  // ignore: only the shared column (id) is inserted.
  EXPECT_EQ(Rows("select id, old_col from {S}.inc_ignore order by id"), (V{"1|a", "2|NULL"}));
  EXPECT_EQ(Rows("select id, old_col, new_col from {S}.inc_append_new_columns order by id"),
            (V{"1|a|NULL", "2|NULL|b"}));
  EXPECT_EQ(Rows("select id, new_col from {S}.inc_sync_all_columns order by id"), (V{"1|NULL", "2|b"}));
  EXPECT_EQ(Rows("select count(*) from information_schema.columns where table_name = 'inc_sync_all_columns' and "
                 "table_schema = '{S}' "
                 "and column_name = 'old_col'"),
            V{"0"});
}

TEST_P(EngineTest, TestsSeverityAndBuildSkipsDownstreamOfAFailingTest) {
  WriteText(dir_.Sub("models/base.sql"), "select * from (values (1, 'x'), (1, 'y'), (2, null)) t(id, label)");
  WriteText(dir_.Sub("models/downstream.sql"), "select count(*) as n from {{ ref('base') }}");
  WriteText(dir_.Sub("models/other.sql"), "select 1 as id");
  WriteText(dir_.Sub("models/schema.yml"), R"(
version: 2
models:
  - name: base
    columns:
      - name: id
        tests:
          - unique:
              config: {store_failures: true}
      - name: label
        tests:
          - not_null:
              config: {severity: warn}
          - accepted_values:
              values: ['x', 'y']
  - name: other
    columns:
      - name: id
        tests: [unique, not_null]
)");
  WriteText(dir_.Sub("tests/no_id_three.sql"), "select * from {{ ref('base') }} where id = 3");
  auto r = Run(Verb::kBuild);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // unique(id): id 1 appears twice -> 1 failing group.
  const NodeResult* uniq = Result_(*r, "unique_base_id");
  ASSERT_NE(uniq, nullptr);
  EXPECT_EQ(uniq->status, "fail");
  EXPECT_EQ(uniq->failures, 1);
  // store_failures keeps the failing rows in <target schema>_dbt_test__audit.
  EXPECT_EQ(Rows("select unique_field, n_records from {S}_dbt_test__audit.unique_base_id"), V{"1|2"});
  // not_null(label) finds one NULL, severity warn.
  EXPECT_EQ(Result_(*r, "not_null_base_label")->status, "warn");
  EXPECT_EQ(Result_(*r, "not_null_base_label")->failures, 1);
  // accepted_values: NULL NOT IN ('x', 'y') is unknown, so NULLs pass (as in dbt).
  EXPECT_EQ(Result_(*r, "accepted_values_base_label__x__y")->status, "pass");
  EXPECT_EQ(Result_(*r, "accepted_values_base_label__x__y")->failures, 0);
  EXPECT_EQ(Result_(*r, "no_id_three")->status, "pass");
  // downstream depends on base, whose error-severity test failed: skipped.
  EXPECT_EQ(Result_(*r, "downstream")->status, "skipped");
  EXPECT_EQ(Result_(*r, "other")->status, "success");
  EXPECT_EQ(Result_(*r, "unique_other_id")->status, "pass");
  EXPECT_FALSE(r->success());
}

TEST_P(EngineTest, ErrorsNameFileLineAndColumn) {
  WriteText(dir_.Sub("models/orders.sql"), "select 1 as id");
  WriteText(dir_.Sub("models/report.sql"), "select *\nfrom {{ ref('order') }}");
  auto r = Run(Verb::kRun);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("models/report.sql:2:"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("(did you mean 'orders'?)"), std::string::npos) << r.status().message();

  // A project macro that refuses its argument: the message points at the raise inside the
  // macro and at the model line that called it.
  WriteText(
      dir_.Sub("macros/cents.sql"),
      "{% macro cents(column, scale=100) %}\n"
      "  {%- if scale <= 0 %}{{ exceptions.raise_compiler_error('cents(): scale must be positive, got ' ~ scale) }}"
      "{% endif -%}\n"
      "  ({{ column }} * {{ scale }})::bigint\n"
      "{% endmacro %}\n");
  WriteText(dir_.Sub("models/report.sql"),
            "select\n  {{ cents('amount', scale=0) }} as amount_cents\nfrom {{ ref('orders') }}");
  r = Run(Verb::kRun);  // the parse render already raises, as in dbt
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("macros/cents.sql:2:37: cents(): scale must be positive, got 0\n"
                                      "    2 |   {%- if scale <= 0 %}{{ exceptions.raise_compiler_error("),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(
      r.status().message().find("  in macro 'cents' (macros/cents.sql:1:10)\n  called from models/report.sql:2:6"),
      std::string::npos)
      << r.status().message();

  WriteText(dir_.Sub("models/report.sql"), "select * from {{ ref('orders') }}");
  WriteText(dir_.Sub("models/orders.sql"), "select * from {{ ref('report') }}");
  r = Run(Verb::kRun);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("dependency cycle: model.shop."), std::string::npos) << r.status().message();
}

TEST_P(EngineTest, PublishInsideTheWarehouseReplacesTheAuditedRelationsTogether) {
  WriteText(dir_.Sub("models/marts/orders.sql"), "select 1 as id, 'a' as note union all select 2, 'b'\n");
  WriteText(dir_.Sub("models/marts/orders.yml"),
            "version: 2\nmodels:\n  - name: orders\n    description: One row per order.\n    columns:\n"
            "      - name: id\n        description: The order's id.\n        data_tests: [unique]\n");
  auto built = Run(Verb::kBuild);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  ASSERT_TRUE(built->success());
  PublishOptions po;
  po.selection.select = {"orders"};
  po.schema = S("_pub");
  po.logical_date = "2024-01-01";
  auto report = Publish(*project_, db_.get(), po);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->published);
  EXPECT_EQ(report->audited, 1);
  EXPECT_EQ(Rows("select id, note from {S}_pub.orders order by id"), (V{"1|a", "2|b"}));
  EXPECT_EQ(Rows("select relation, row_count, logical_date from {S}_pub._strata_publications"),
            (V{"orders|2|2024-01-01"}));
  if (GetParam() == "postgres") {
    EXPECT_EQ(Rows("select obj_description('{S}_pub.orders'::regclass)"), V{"One row per order."});
  } else {
    EXPECT_EQ(Rows("select comment from duckdb_tables() where schema_name = '{S}_pub' and table_name = 'orders'"),
              V{"One row per order."});
  }

  // The next version replaces the published one.
  WriteText(dir_.Sub("models/marts/orders.sql"), "select 1 as id, 'a' as note union all select 3, 'c'\n");
  ASSERT_TRUE(Run(Verb::kBuild).ok());
  po.logical_date = "2024-01-02";
  report = Publish(*project_, db_.get(), po);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(Rows("select id, note from {S}_pub.orders order by id"), (V{"1|a", "3|c"}));
  EXPECT_EQ(Rows("select count(*) from {S}_pub._strata_publications"), V{"2"});
}

// A gate of its own (what a quality suite is to publish): it sees the warehouse, and its
// failing checks block the publish beside the dbt tests; its warnings publish.
class RowCountGate : public PublishGate {
 public:
  RowCountGate(std::string sql, std::string status) : sql_(std::move(sql)), status_(std::move(status)) {}
  std::string name() const override { return "row counts"; }
  Result<std::vector<NodeResult>> Audit(const LoadedProject& /*project*/, warehouse::Engine* db,
                                        const PublishOptions& /*options*/) override {
    STRATA_ASSIGN_OR_RETURN(auto session, db->Connect());
    STRATA_ASSIGN_OR_RETURN(auto rows, session->Query(sql_));
    NodeResult r;
    r.unique_id = "quality.orders_has_rows";
    r.name = "orders_has_rows";
    r.status = rows.Scalar().value_or("0") == "0" ? status_ : "pass";
    return std::vector<NodeResult>{r};
  }

 private:
  std::string sql_, status_;
};

TEST_P(EngineTest, PublishGatesJoinTheAuditAndBlockOrWarn) {
  WriteText(dir_.Sub("models/marts/orders.sql"), "select 1 as id where false\n");
  WriteText(dir_.Sub("models/marts/orders.yml"),
            "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n        data_tests: [unique]\n");
  ASSERT_TRUE(Run(Verb::kBuild).ok());
  std::unique_ptr<PublishGate> dbt = DbtTestsGate();
  RowCountGate empty_fails(Sql("select count(*) from {S}_marts.orders"), "fail");
  PublishOptions po;
  po.selection.select = {"orders"};
  po.schema = S("_pub");
  po.gates = {dbt.get(), &empty_fails};
  auto report = Publish(*project_, db_.get(), po);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->published);
  EXPECT_EQ(report->audited, 2);  // the unique test and the gate's check
  ASSERT_EQ(report->blocking.size(), 1u);
  EXPECT_EQ(report->blocking[0].name, "orders_has_rows");
  EXPECT_EQ(Rows("select count(*) from information_schema.tables where table_schema = '{S}_pub' and "
                 "table_name = 'orders'"),
            V{"0"});

  RowCountGate empty_warns(Sql("select count(*) from {S}_marts.orders"), "warn");
  po.gates = {&empty_warns};  // without the dbt tests: only this gate audits
  report = Publish(*project_, db_.get(), po);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->published);
  EXPECT_EQ(report->audited, 1);
  ASSERT_EQ(report->warnings.size(), 1u);
  EXPECT_EQ(Rows("select count(*) from {S}_pub.orders"), V{"0"});
}

TEST_P(EngineTest, SourceFreshnessWarnsAndErrorsByAgeOfTheNewestRow) {
  WriteText(dir_.Sub("seeds/raw_events.csv"), "id,loaded_at\n1,2024-03-01 09:00:00\n2,2024-03-01 10:00:00\n");
  WriteText(dir_.Sub("seeds/raw_payments.csv"),
            "id,kind,paid_at\n1,card,2024-03-01 12:10:00\n2,cash,2024-03-01 12:29:00\n3,card,2024-03-01 08:00:00\n");
  WriteText(dir_.Sub("models/sources.yml"), Sql(R"(
version: 2
sources:
  - name: app
    schema: {S}
    loaded_at_field: loaded_at
    freshness:
      warn_after: {count: 1, period: hour}
      error_after: {count: 1, period: day}
    tables:
      - name: events
        identifier: raw_events
      - name: payments
        identifier: raw_payments
        loaded_at_field: paid_at
        freshness:
          error_after: {count: 30, period: minute}
          filter: "kind = 'card'"
      - name: unchecked
        identifier: raw_events
        freshness: null
)"));
  ASSERT_TRUE(Run(Verb::kSeed).ok());
  // 12:30: events' newest row (10:00) is 2h30m old: over warn_after (1 hour), under error_after.
  // payments: the newest card payment (12:10; the 12:29 cash one is filtered out) is 20 min old.
  run_started_at_ = "2024-03-01 12:30:00";
  auto r = Run(Verb::kFreshness);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->results.size(), 2u);  // `unchecked` declares no freshness
  const NodeResult* events = Result_(*r, "events");
  EXPECT_EQ(events->status, "warn") << events->message;
  EXPECT_EQ(events->freshness["max_loaded_at"], "2024-03-01 10:00:00");
  EXPECT_EQ(events->freshness["max_loaded_at_time_ago_in_s"], 9000);
  EXPECT_NE(events->message.find("2h 30m old (warn_after 1 hour)"), std::string::npos) << events->message;
  EXPECT_EQ(Result_(*r, "payments")->status, "pass") << Result_(*r, "payments")->message;
  EXPECT_EQ(Result_(*r, "payments")->freshness["max_loaded_at_time_ago_in_s"], 1200);
  EXPECT_TRUE(std::filesystem::exists(dir_.Sub("target/sources.json")));

  // Next day 11:00: events are 25 h old (error); the card payment 22h50m (error after 30 min).
  run_started_at_ = "2024-03-02 11:00:00";
  r = Run(Verb::kFreshness);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Result_(*r, "events")->status, "error");
  EXPECT_NE(Result_(*r, "events")->message.find("1d 1h old (error_after 1 day)"), std::string::npos);
  EXPECT_EQ(Result_(*r, "payments")->status, "error");
  EXPECT_FALSE(r->success());

  // A period dbt does not know is an error naming the source.
  std::string yml = *ReadFile(dir_.Sub("models/sources.yml"));
  yml.replace(yml.find("period: minute"), 14, "period: week");
  WriteText(dir_.Sub("models/sources.yml"), yml);
  r = Run(Verb::kFreshness);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(Result_(*r, "payments")->message.find("source 'app.payments': freshness.error_after.period is 'week'"),
            std::string::npos)
      << Result_(*r, "payments")->message;
}

// dbt 1.8 unit tests: fixtures replace the model's inputs (typed like the real relations),
// overrides of vars, env vars and is_incremental, dict/csv/sql formats and fixture files; in
// build a unit test runs after the model's parents and before the model, which it blocks.
class UnitTestsTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    WriteText(
        dir_.Sub("seeds/raw_orders.csv"),
        "id,customer,amount,status,ordered_on\n1,ann,10.00,placed,2024-01-03\n2,bob,20.50,cancelled,2024-01-04\n");
    WriteText(dir_.Sub("seeds/_seeds.yml"),
              "version: 2\nseeds:\n  - name: raw_orders\n    config:\n      column_types: {amount: 'decimal(10,2)'}\n");
    WriteText(
        dir_.Sub("models/stg_orders.sql"),
        "select id, customer, amount, status, cast(ordered_on as date) as ordered_on from {{ ref('raw_orders') }}");
    WriteText(dir_.Sub("models/marts/customer_totals.sql"),
              "select customer, count(*) as orders, sum(amount) as total, min(ordered_on) as first_order\n"
              "from {{ ref('stg_orders') }}\n"
              "where status <> 'cancelled' and amount >= {{ var('min_amount', 0) }}\ngroup by customer");
    WriteText(dir_.Sub("models/new_orders.sql"),
              "{{ config(materialized='incremental', unique_key='id') }}\n"
              "select id, amount, ordered_on from {{ ref('stg_orders') }}\n"
              "{% if is_incremental() %}where ordered_on >= (select max(ordered_on) from {{ this }}) - interval '1 day'"
              "{% endif %}");
    WriteText(dir_.Sub("models/region.sql"),
              "select '{{ env_var('SHOP_REGION', 'eu') }}' as region, count(*) as n from {{ ref('stg_orders') }}");
    WriteText(dir_.Sub("tests/fixtures/two_orders.csv"),
              "id,customer,amount,status,ordered_on\n1,ann,10.00,placed,2024-01-03\n2,ann,5.25,placed,2024-01-01\n");
    WriteText(dir_.Sub("models/_unit.yml"), R"(
version: 2
unit_tests:
  - name: totals_skip_cancelled
    model: customer_totals
    given:
      - input: ref('stg_orders')
        rows:
          - {id: 1, customer: ann, amount: 10.00, status: placed, ordered_on: "2024-01-03"}
          - {id: 2, customer: ann, amount: "5.25", status: shipped, ordered_on: "2024-01-01"}
          - {id: 3, customer: bob, amount: 7.50, status: cancelled, ordered_on: "2024-01-02"}
          - {customer: cy, amount: 1.00, status: placed}
    expect:
      rows:
        - {customer: ann, total: 15.25, first_order: "2024-01-01"}
        - {customer: cy, total: 1.00, first_order: null}
  - name: totals_min_amount_var
    model: customer_totals
    overrides:
      vars: {min_amount: 6}
    given:
      - input: ref('stg_orders')
        format: csv
        fixture: two_orders
    expect:
      format: csv
      rows: |
        customer,orders,total
        ann,1,10.00
  - name: new_orders_incremental
    model: new_orders
    overrides:
      macros: {is_incremental: true}
    given:
      - input: ref('stg_orders')
        rows:
          - {id: 1, amount: 1, ordered_on: "2024-01-01"}
          - {id: 2, amount: 2, ordered_on: "2024-01-04"}
          - {id: 3, amount: 3, ordered_on: "2024-01-05"}
      # Typed like the model's output (a DATE) even before the model was ever built.
      - input: this
        rows: [{id: 9, ordered_on: "2024-01-05"}]
    expect:
      rows: [{id: 2, amount: 2}, {id: 3, amount: 3}]
  - name: new_orders_full
    model: new_orders
    given:
      - input: ref('stg_orders')
        rows: [{id: 1, amount: 1}, {id: 2, amount: 2}]
    expect:
      format: sql
      rows: "select 1 as id, 1 as amount union all select 2, 2"
  - name: region_env_var
    model: region
    overrides:
      env_vars: {SHOP_REGION: us}
    given:
      - input: ref('stg_orders')
        rows: []
    expect:
      rows: [{region: us, n: 0}]
)");
  }
};

TEST_P(UnitTestsTest, PassFailAndBlockTheirModelInBuild) {
  // A wrong expectation: ann's one order is 10.00, not 11.00.
  WriteText(dir_.Sub("models/_unit_wrong.yml"), R"(
version: 2
unit_tests:
  - name: totals_wrong
    model: customer_totals
    given:
      - input: ref('stg_orders')
        rows: [{customer: ann, amount: 10, status: placed}]
    expect:
      rows: [{customer: ann, total: 11.00}]
)");
  auto r = Run(Verb::kBuild);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const char* name : {"totals_skip_cancelled", "totals_min_amount_var", "new_orders_incremental",
                           "new_orders_full", "region_env_var"}) {
    const NodeResult* u = Result_(*r, name);
    ASSERT_NE(u, nullptr) << name;
    EXPECT_EQ(u->status, "pass") << name << ": " << u->message;
    EXPECT_EQ(u->resource_type, "unit_test");
  }
  const NodeResult* wrong = Result_(*r, "totals_wrong");
  ASSERT_NE(wrong, nullptr);
  EXPECT_EQ(wrong->status, "fail");
  EXPECT_EQ(wrong->failures, 2);  // the produced row (+) and the expected one (-)
  EXPECT_NE(wrong->message.find("1 unexpected row(s) (+), 1 missing row(s) (-)"), std::string::npos) << wrong->message;
  EXPECT_NE(wrong->message.find("+ | ann      | 10"), std::string::npos) << wrong->message;
  EXPECT_NE(wrong->message.find("- | ann      | 11"), std::string::npos) << wrong->message;
  // The model it tests is skipped and never built; the other models are built.
  EXPECT_EQ(Result_(*r, "customer_totals")->status, "skipped");
  EXPECT_EQ(Rows("select count(*) from information_schema.tables where table_name = 'customer_totals' and table_schema "
                 "like '{S}%'"),
            V{"0"});
  EXPECT_EQ(Result_(*r, "new_orders")->status, "success");
  EXPECT_EQ(Rows("select id, amount from {S}.new_orders order by id"), (V{"1|10.00", "2|20.50"}));
  // Unit tests ran before their models: each model finishes after its unit tests.
  size_t pos_model = 0, pos_unit = 0;
  for (size_t i = 0; i < r->results.size(); ++i) {
    if (r->results[i].name == "new_orders") pos_model = i;
    if (r->results[i].name == "new_orders_full") pos_unit = i;
  }
  EXPECT_LT(pos_unit, pos_model);
  // The executed comparison is kept for debugging.
  EXPECT_NE(wrong->compiled_sql.find("except all"), std::string::npos);

  // Fixed expectation: everything passes and the model is built from the real rows.
  std::filesystem::remove(dir_.Sub("models/_unit_wrong.yml"));
  r = Run(Verb::kBuild);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->success());
  EXPECT_EQ(Rows("select customer, orders, total from {S}_marts.customer_totals"), V{"ann|1|10.00"});

  // `test -s test_type:unit` runs only the unit tests, and builds nothing.
  r = Run(Verb::kTest, {"test_type:unit"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->results.size(), 5u);
  EXPECT_TRUE(r->success());
  // Selecting a model in `test` picks its unit tests (indirect selection).
  r = Run(Verb::kTest, {"new_orders"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Count("pass"), 2);
}

TEST_P(UnitTestsTest, MistakesGetClearErrors) {
  ASSERT_TRUE(Run(Verb::kBuild).ok());
  WriteText(dir_.Sub("models/_unit_bad.yml"), R"(
version: 2
unit_tests:
  - name: missing_input
    model: customer_totals
    given:
      - input: ref('raw_orders')
        rows: [{id: 1}]
    expect:
      rows: []
  - name: unknown_expect_column
    model: customer_totals
    given:
      - input: ref('stg_orders')
        rows: [{customer: ann, amount: 1, status: placed}]
    expect:
      rows: [{customer: ann, revenue: 1}]
  - name: unknown_given_column
    model: customer_totals
    given:
      - input: ref('stg_orders')
        rows: [{customer: ann, colour: red}]
    expect:
      rows: []
  - name: incremental_without_this
    model: new_orders
    overrides:
      macros: {is_incremental: true}
    given:
      - input: ref('stg_orders')
        rows: []
    expect:
      rows: []
)");
  auto r = Run(Verb::kTest, {"test_type:unit"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto message = [&](const std::string& name) { return Result_(*r, name)->message; };
  EXPECT_EQ(Result_(*r, "missing_input")->status, "error");
  EXPECT_NE(message("missing_input")
                .find("models/_unit_bad.yml:4:5: unit_tests[0]: unit test 'missing_input': model "
                      "'customer_totals' reads ref('stg_orders'), which has no `given` input"),
            std::string::npos)
      << message("missing_input");
  EXPECT_NE(message("unknown_expect_column")
                .find("expect names column 'revenue', which 'customer_totals' does not produce (its columns: "
                      "customer, orders, total, first_order)"),
            std::string::npos)
      << message("unknown_expect_column");
  EXPECT_NE(
      message("unknown_given_column").find("gives column 'colour', which it does not have (columns: id, customer"),
      std::string::npos)
      << message("unknown_given_column");
  EXPECT_NE(message("incremental_without_this").find("must be given as `- input: this`"), std::string::npos)
      << message("incremental_without_this");

  // Load-time mistakes: an unknown model (with a suggestion) and an input that is not a ref.
  WriteText(dir_.Sub("models/_unit_bad.yml"),
            "version: 2\nunit_tests:\n  - name: t\n    model: customer_total\n    given: []\n    expect: {rows: []}\n");
  auto bad = Run(Verb::kTest);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(
                "models/_unit_bad.yml:3:5: unit_tests[0]: unit test 't' tests model 'customer_total', which "
                "does not exist (did you mean 'customer_totals'?)"),
            std::string::npos)
      << bad.status().message();
  WriteText(dir_.Sub("models/_unit_bad.yml"),
            "version: 2\nunit_tests:\n  - name: t\n    model: customer_totals\n    given:\n"
            "      - input: stg_orders\n        rows: []\n    expect: {rows: []}\n");
  bad = Run(Verb::kTest);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(
      bad.status().message().find("given input 'stg_orders' must be a ref('...'), a source('...', '...') or this"),
      std::string::npos)
      << bad.status().message();
}

// Exposures (YAML ones and Strata's dashboards, given as extra_exposures) depend on the
// models they name: `+exposure:x` selects what x reads, builds never run an exposure, and
// manifest.json lists them under "exposures" as dbt does.
TEST_P(EngineTest, ExposuresSelectWhatTheyReadAndNeverRun) {
  WriteText(dir_.Sub("models/a.sql"), "select 1 as id\n");
  WriteText(dir_.Sub("models/b.sql"), "select id from {{ ref('a') }}\n");
  WriteText(dir_.Sub("models/c.sql"), "select 2 as id\n");
  WriteText(dir_.Sub("models/exposures.yml"),
            "version: 2\nexposures:\n  - name: weekly\n    type: dashboard\n    owner: {name: Ana}\n"
            "    url: https://bi.example.com/weekly\n    depends_on: [\"ref('b')\"]\n");
  LoadOptions lo;
  lo.project_dir = dir_.path();
  ExposureSpec dash;
  dash.name = "overview";
  dash.depends_on = {"ref('c')"};
  dash.file = "dashboards/overview.yml";
  dash.where = "dashboards/overview.yml";
  lo.extra_exposures.push_back(dash);
  auto p = LoadedProject::Load(lo);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const Node* weekly = (*p)->manifest.Find("exposure.shop.weekly");
  ASSERT_NE(weekly, nullptr);
  EXPECT_EQ(weekly->depends_on, std::vector<std::string>{"model.shop.b"});
  EXPECT_EQ(weekly->config["url"], "https://bi.example.com/weekly");
  SelectOptions sel;
  sel.select = {"+exposure:weekly"};
  auto chosen = SelectNodes((*p)->manifest, (*p)->graph, sel);
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(*chosen, (std::set<std::string>{"exposure.shop.weekly", "model.shop.a", "model.shop.b"}));
  sel.select = {"+exposure:overview"};
  chosen = SelectNodes((*p)->manifest, (*p)->graph, sel);
  EXPECT_EQ(*chosen, (std::set<std::string>{"exposure.shop.overview", "model.shop.c"}));
  sel.select = {"weekly"};  // a name alone does not select an exposure
  chosen = SelectNodes((*p)->manifest, (*p)->graph, sel);
  EXPECT_TRUE(chosen->empty());

  auto built = Run(Verb::kBuild, {"+exposure:weekly"});
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  std::set<std::string> ran;
  for (const auto& r : built->results) ran.insert(r.unique_id);
  EXPECT_EQ(ran, (std::set<std::string>{"model.shop.a", "model.shop.b"}));
  auto manifest = ReadFile(dir_.Sub("target/manifest.json"));
  ASSERT_TRUE(manifest.ok());
  auto j = nlohmann::json::parse(*manifest);
  EXPECT_TRUE(j["exposures"].contains("exposure.shop.weekly"));
  EXPECT_FALSE(j["nodes"].contains("exposure.shop.weekly"));

  // Mistakes name their place.
  WriteText(dir_.Sub("models/exposures.yml"),
            "version: 2\nexposures:\n  - name: weekly\n    depends_on: [\"ref('bb')\"]\n");
  auto missing = LoadedProject::Load(lo);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("ref('bb')"), std::string::npos) << missing.status().message();
  EXPECT_NE(missing.status().message().find("did you mean 'b'"), std::string::npos) << missing.status().message();
  WriteText(dir_.Sub("models/exposures.yml"), "version: 2\nexposures:\n  - name: weekly\n    type: report\n");
  auto bad_type = LoadedProject::Load(lo);
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.status().message().find("exposures.yml:4:11"), std::string::npos) << bad_type.status().message();
}

// Jinja in dbt_project.yml's configs is rendered, and a value that is no boolean where one is
// needed is an error naming the node (never an abort); a ragged seed names its file and line.
TEST_P(EngineTest, ProjectConfigJinjaAndRaggedSeeds) {
  WriteText(dir_.Sub("dbt_project.yml"), R"(
name: shop
profile: shop
models:
  shop:
    +materialized: "{{ 'table' if var('as_table', false) else 'view' }}"
    extra:
      +enabled: "{{ var('extra', 'False') }}"
)");
  WriteText(dir_.Sub("models/base.sql"), "select 1 as x\n");
  WriteText(dir_.Sub("models/extra/more.sql"), "select 2 as x\n");
  auto r = Run(Verb::kRun);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->results.size(), 1u) << "extra/ is disabled by the rendered var";
  EXPECT_EQ(project_->manifest.Find("model.shop.base")->materialized(), "view");
  WriteText(dir_.Sub("dbt_project.yml"), R"(
name: shop
profile: shop
vars: {as_table: true, extra: "true"}
models:
  shop:
    +materialized: "{{ 'table' if var('as_table', false) else 'view' }}"
    extra:
      +enabled: "{{ var('extra', 'False') }}"
)");
  r = Run(Verb::kRun);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->results.size(), 2u);
  EXPECT_EQ(project_->manifest.Find("model.shop.base")->materialized(), "table");
  WriteText(dir_.Sub("dbt_project.yml"),
            "name: shop\nprofile: shop\nmodels:\n  shop:\n    extra:\n      +enabled: \"{{ 'maybe' }}\"\n");
  r = Run(Verb::kRun);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("model 'more': enabled must be true or false, not \"maybe\""), std::string::npos)
      << r.status().ToString();
  // A ragged seed: an error naming the file and line, and no table.
  WriteText(dir_.Sub("dbt_project.yml"), "name: shop\nprofile: shop\n");
  WriteText(dir_.Sub("seeds/ragged.csv"), "id,name\n1,\"a, b\"\n2,b,extra\n");
  r = Run(Verb::kSeed);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const NodeResult* seed = Result_(*r, "ragged");
  ASSERT_NE(seed, nullptr);
  EXPECT_EQ(seed->status, "error");
  EXPECT_EQ(seed->message, "seeds/ragged.csv:3: 3 field(s), but the header has 2");
}

// dbt's leniency: a YAML entry matching no file, and tests of a disabled model, are warnings.
TEST_P(EngineTest, OrphanEntriesAndTestsOfDisabledNodesAreWarnings) {
  WriteText(dir_.Sub("models/m.sql"), "select 1 as x\n");
  WriteText(dir_.Sub("models/off.sql"), "{{ config(enabled=false) }}\nselect 1 as y\n");
  WriteText(dir_.Sub("models/schema.yml"),
            "version: 2\nmodels:\n  - name: m\n    columns:\n      - name: x\n        tests: [not_null]\n"
            "  - name: ghost\n    columns:\n      - name: x\n        tests: [unique]\n"
            "  - name: off\n    columns:\n      - name: y\n        tests: [unique]\n");
  auto r = Run(Verb::kBuild);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->results.size(), 2u) << "m and its test";
  ASSERT_EQ(project_->warnings.size(), 2u);
  EXPECT_NE(project_->warnings[0].find("models entry 'ghost' matches no model file"), std::string::npos)
      << project_->warnings[0];
  EXPECT_NE(project_->warnings[1].find("test(s) of 'off', which is disabled, are disabled too"), std::string::npos)
      << project_->warnings[1];
}

// Schemas are created once before the nodes run: many nodes of one new schema starting together
// never conflict over creating it (DuckDB refused concurrent creations).
TEST_P(EngineTest, ManyThreadsIntoOneNewSchema) {
  WriteText(dir_.Sub("dbt_project.yml"),
            "name: shop\nprofile: shop\nmodels:\n  shop:\n    +materialized: table\n"
            "    +schema: wide\n");
  for (int i = 0; i < 16; ++i) {
    WriteText(dir_.Sub("models/m" + std::to_string(i) + ".sql"), "select " + std::to_string(i) + " as x\n");
  }
  for (int round = 0; round < 3; ++round) {
    if (round > 0) Exec("drop schema if exists " + project_->manifest.Find("model.shop.m0")->schema + " cascade");
    auto r = Run(Verb::kRun, {}, false, 8);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& x : r->results) EXPECT_EQ(x.status, "success") << x.name << ": " << x.message;
  }
}

// An undefined name in a node's SQL is an error naming it, never a silent empty string; `is
// defined` and `default` still work, and parsing stays lenient.
TEST_P(EngineTest, UndefinedNamesAreErrors) {
  WriteText(dir_.Sub("models/ok.sql"),
            "select {{ 1 if not_here is defined else 2 }} as a, '{{ not_here | default(\"d\") }}' as b\n");
  WriteText(dir_.Sub("models/bad.sql"), "select {{ not_here }} as x\n");
  auto r = Run(Verb::kRun);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const NodeResult* ok = Result_(*r, "ok");
  const NodeResult* bad = Result_(*r, "bad");
  ASSERT_NE(ok, nullptr);
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(ok->status, "success") << ok->message;
  EXPECT_EQ(Rows("select a, b from {S}.ok"), (std::vector<std::string>{"2|d"}));
  EXPECT_EQ(bad->status, "error");
  EXPECT_NE(bad->message.find("'not_here' is undefined"), std::string::npos) << bad->message;
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineTest, ::testing::Values("duckdb", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });
INSTANTIATE_TEST_SUITE_P(Engines, UnitTestsTest, ::testing::Values("duckdb", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace strata::transform

namespace strata::transform {
namespace {

// dbt's model contracts: the query's columns and types are checked against the YAML before
// anything is built; a table gets the declared types and constraints, which the warehouse
// then enforces.
TEST_P(EngineTest, EnforcedContractsCheckColumnsAndApplyConstraints) {
  WriteText(dir_.Sub("models/customers.sql"),
            "{{ config(materialized='table') }}\nselect 1 as id, 'ann' as name union all select 2, 'bob'");
  WriteText(dir_.Sub("models/extra_col.sql"), "{{ config(materialized='table') }}\nselect 1 as id, 'x' as surprise");
  WriteText(dir_.Sub("models/wrong_type.sql"), "{{ config(materialized='view') }}\nselect 'one' as id");
  WriteText(dir_.Sub("models/null_id.sql"),
            "{{ config(materialized='table') }}\nselect cast(null as integer) as id, 'ann' as name");
  WriteText(dir_.Sub("models/_contracts.yml"), R"(version: 2
models:
  - name: customers
    config: {contract: {enforced: true}}
    columns:
      - name: name
        data_type: text
      - name: id
        data_type: integer
        constraints: [{type: not_null}, {type: primary_key}]
    constraints:
      - type: check
        expression: "id > 0"
  - name: extra_col
    config: {contract: {enforced: true}}
    columns:
      - {name: id, data_type: integer}
  - name: wrong_type
    config: {contract: {enforced: true}}
    columns:
      - {name: id, data_type: integer}
  - name: null_id
    config: {contract: {enforced: true}}
    columns:
      - {name: id, data_type: integer, constraints: [{type: not_null}]}
      - {name: name, data_type: text}
)");
  auto r = Run(Verb::kRun);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const NodeResult* customers = Result_(*r, "customers");
  ASSERT_NE(customers, nullptr);
  EXPECT_EQ(customers->status, "success") << customers->message << "\n" << customers->compiled_sql;
  // Columns in the contract's order (name first), id not nullable.
  EXPECT_EQ(Rows("select column_name, is_nullable from information_schema.columns where table_schema = '{S}' and "
                 "table_name = 'customers' order by ordinal_position"),
            (V{"name|YES", "id|NO"}));
  EXPECT_EQ(Rows("select name, id from {S}.customers order by id"), (V{"ann|1", "bob|2"}));
  const NodeResult* extra = Result_(*r, "extra_col");
  ASSERT_NE(extra, nullptr);
  EXPECT_EQ(extra->status, "error");
  EXPECT_NE(extra->message.find("| surprise |"), std::string::npos) << extra->message;
  EXPECT_NE(extra->message.find("missing in contract"), std::string::npos) << extra->message;
  const NodeResult* wrong = Result_(*r, "wrong_type");
  ASSERT_NE(wrong, nullptr);
  EXPECT_EQ(wrong->status, "error");
  EXPECT_NE(wrong->message.find("data type mismatch"), std::string::npos) << wrong->message;
  // Nothing was built for the failed contracts.
  EXPECT_EQ(Rows("select count(*) from information_schema.tables where table_schema = '{S}' and table_name in "
                 "('extra_col', 'wrong_type')"),
            (V{"0"}));
  // A row that breaks a constraint fails the model, and leaves no table behind.
  const NodeResult* null_id = Result_(*r, "null_id");
  ASSERT_NE(null_id, nullptr);
  EXPECT_EQ(null_id->status, "error");
  EXPECT_EQ(Rows("select count(*) from information_schema.tables where table_schema = '{S}' and table_name like "
                 "'null_id%'"),
            (V{"0"}));
}

}  // namespace
}  // namespace strata::transform

namespace strata::transform {
namespace {

// dbt 1.8's --empty: models are built from refs and sources that read no rows, so a run checks
// every model's SQL and columns without moving data; tests still read the models.
TEST_P(EngineTest, EmptyBuildsEveryModelWithNoRows) {
  WriteText(dir_.Sub("seeds/people.csv"), "id,name\n1,ann\n2,bob\n");
  WriteText(dir_.Sub("models/names.sql"),
            "{{ config(materialized='table') }}\nselect id, upper(name) as name from "
            "{{ ref('people') }}");
  auto seeded = Run(Verb::kSeed);
  ASSERT_TRUE(seeded.ok()) << seeded.status().ToString();
  empty_ = true;
  auto r = Run(Verb::kRun);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const NodeResult* names = Result_(*r, "names");
  ASSERT_NE(names, nullptr);
  EXPECT_EQ(names->status, "success") << names->message;
  EXPECT_NE(names->compiled_sql.find("where false limit 0) _dbt_limit_subq_people"), std::string::npos)
      << names->compiled_sql;
  EXPECT_EQ(Rows("select count(*) from {S}.names"), (V{"0"}));
  EXPECT_EQ(Rows("select column_name from information_schema.columns where table_schema = '{S}' and table_name = "
                 "'names' order by ordinal_position"),
            (V{"id", "name"}));
  EXPECT_EQ(Rows("select count(*) from {S}.people"), (V{"2"}));  // the seed itself is untouched
}

}  // namespace
}  // namespace strata::transform
