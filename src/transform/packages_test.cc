// Real dbt packages (dbt_utils 1.3.3, dbt_date 0.17.1, dbt_expectations 0.10.3, audit_helper
// 0.12.2, read from the shared folder, never copied into the repository) used by a small
// project, on DuckDB and PostgreSQL. Every expected value is worked out by hand from the
// seeds below (md5 sums with md5sum), not copied from Strata's output.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "core/file.h"
#include "transform/dbt_test_project.h"

namespace strata::transform {
namespace {

namespace fs = std::filesystem;
using strata::testing::WriteText;
using V = std::vector<std::string>;

const char* const kPackages[] = {"dbt_utils-1.3.3", "dbt_date-0.17.1", "dbt_expectations-0.10.3",
                                 "audit_helper-0.12.2"};

class PackagesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    shared_ = SharedPackagesDir();
    ASSERT_FALSE(shared_.empty()) << "the shared dbt packages are missing: set STRATA_DBT_PACKAGES_DIR";
    p_.Write("dbt_project.yml", "name: pk\nprofile: pk\n");
    p_.Init(GetParam(), "pk", "pk");
    p_.Write("seeds/people.csv",
             "id,first_name,last_name,city\n1,Ada,Lovelace,London\n2,Alan,Turing,London\n3,Grace,Hopper,NYC\n");
    // Order 4 is there twice.
    p_.Write("seeds/orders.csv",
             "order_id,customer_id,status,amount,ordered_at\n1,1,paid,10.50,2024-01-01\n2,1,paid,20.00,2024-01-02\n"
             "3,2,refunded,5.25,2024-01-02\n4,3,paid,7.75,2024-01-03\n4,3,paid,7.75,2024-01-03\n");
    p_.Write("seeds/orders_b.csv",
             "order_id,customer_id,status,amount,ordered_at,channel\n10,4,paid,1.00,2024-02-01,web\n");
    p_.Write("seeds/_seeds.yml",
             "version: 2\nseeds:\n  - name: orders\n    config: {column_types: {amount: 'decimal(10,2)'}}\n"
             "  - name: orders_b\n    config: {column_types: {amount: 'decimal(10,2)'}}\n");
  }

  // Installs the packages as `strata deps` does with local entries: symlinks to the shared copies.
  void LinkPackages() {
    fs::create_directories(dir_.Sub("dbt_packages"));
    for (const char* p : kPackages) {
      std::string name(p);
      name = name.substr(0, name.rfind('-'));
      fs::create_directory_symlink(shared_ + "/" + p, dir_.Sub("dbt_packages/" + name));
    }
  }

  Result<RunResults> Run(Verb verb, std::vector<std::string> select = {}) { return p_.Run(verb, std::move(select)); }
  std::vector<std::string> Rows(const std::string& sql) { return p_.Rows(sql); }

  std::string shared_;
  DbtTestProject p_;
  testing::TempDir& dir_ = p_.dir;
  std::string& schema_ = p_.schema;
};

TEST_P(PackagesTest, DbtUtilsMacrosGiveTheHandWorkedResults) {
  LinkPackages();
  WriteText(dir_.Sub("models/star_people.sql"),
            "select {{ dbt_utils.star(ref('people'), except=['city']) }} from {{ ref('people') }}");
  WriteText(dir_.Sub("models/keys.sql"),
            "select order_id, {{ dbt_utils.generate_surrogate_key(['order_id', 'customer_id']) }} as sk,\n"
            "  {{ dbt_utils.generate_surrogate_key(['order_id', 'null']) }} as sk_null\n"
            "from {{ ref('orders') }} where order_id = 1");
  WriteText(dir_.Sub("models/unioned.sql"),
            "{{ dbt_utils.union_relations(relations=[ref('orders'), ref('orders_b')]) }}");
  WriteText(dir_.Sub("models/pivoted.sql"),
            "select customer_id,\n"
            "  {{ dbt_utils.pivot('status', dbt_utils.get_column_values(ref('orders'), 'status'), agg='sum', "
            "then_value='amount') }}\n"
            "from {{ ref('orders') }} group by customer_id");
  WriteText(dir_.Sub("models/unpivoted.sql"),
            "{{ dbt_utils.unpivot(relation=ref('people'), cast_to=dbt.type_string(), exclude=['id'], "
            "field_name='field', value_name='val') }}");
  WriteText(dir_.Sub("models/spine.sql"),
            "{{ dbt_utils.date_spine(datepart='day', start_date=\"cast('2024-01-01' as date)\", "
            "end_date=\"cast('2024-01-05' as date)\") }}");
  WriteText(dir_.Sub("models/deduped.sql"),
            "{{ config(materialized='table') }}\n"
            "{{ dbt_utils.deduplicate(relation=ref('orders'), partition_by='order_id', order_by='amount desc') }}");
  WriteText(dir_.Sub("models/single.sql"),
            "select {{ dbt_utils.get_single_value(\"select max(amount) from \" ~ ref('orders')) }} as top,\n"
            "  {{ dbt_utils.safe_divide('10', '4') }} as q, {{ dbt_utils.safe_divide('1', '0') }} as z");
  auto r = Run(Verb::kBuild);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const auto& x : r->results) EXPECT_NE(x.status, "error") << x.name << ": " << x.message;

  // star: every column but city, in table order.
  EXPECT_EQ(Rows("select column_name from information_schema.columns where table_schema = '{S}' and "
                 "table_name = 'star_people' order by ordinal_position"),
            (V{"id", "first_name", "last_name"}));
  // md5('1-1') and md5('1-_dbt_utils_surrogate_key_null_'), by md5sum.
  EXPECT_EQ(Rows("select sk, sk_null from {S}.keys"),
            (V{"ea66c06c1e1c05fa9f1aa39d98dc5bc1|9902a3dc3ffe71035ef18229afae9987"}));
  // union: 5 + 1 rows; the columns of both, channel null for the first relation's rows.
  EXPECT_EQ(Rows("select count(*), count(channel), count(distinct _dbt_source_relation) from {S}.unioned"),
            (V{"6|1|2"}));
  // pivot over the statuses by frequency (paid 4, refunded 1): sum(amount) per customer.
  EXPECT_EQ(Rows("select customer_id, cast(paid as decimal(10,2)), cast(refunded as decimal(10,2)) "
                 "from {S}.pivoted order by 1"),
            (V{"1|30.50|0.00", "2|0.00|5.25", "3|15.50|0.00"}));
  // unpivot: 3 people x 3 columns.
  EXPECT_EQ(Rows("select count(*) from {S}.unpivoted"), (V{"9"}));
  EXPECT_EQ(Rows("select val from {S}.unpivoted where id = 3 and field = 'city'"), (V{"NYC"}));
  // date_spine: the end is exclusive.
  EXPECT_EQ(Rows("select cast(date_day as date) from {S}.spine order by 1"),
            (V{"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"}));
  EXPECT_EQ(Rows("select count(*), count(distinct order_id) from {S}.deduped"), (V{"4|4"}));
  // safe_divide is `a / nullif(b, 0)`: integer division on PostgreSQL (10 / 4 = 2), as dbt
  // gives there; DuckDB's `/` divides as doubles.
  EXPECT_EQ(Rows("select cast(top as decimal(10,2)), cast(q as decimal(10,2)), z from {S}.single"),
            (V{GetParam() == "postgres" ? "20.00|2.00|NULL" : "20.00|2.50|NULL"}));
}

TEST_P(PackagesTest, DbtDateExpectationsAndAuditHelperGiveTheHandWorkedResults) {
  LinkPackages();
  WriteText(dir_.Sub("models/dates.sql"),
            "{{ config(materialized='table') }}\n{{ dbt_date.get_date_dimension('2024-01-01', '2024-01-10') }}");
  WriteText(dir_.Sub("models/deduped.sql"),
            "{{ config(materialized='table') }}\n"
            "{{ dbt_utils.deduplicate(relation=ref('orders'), partition_by='order_id', order_by='amount desc') }}");
  // Order 3 is gone and order 2 costs one more.
  WriteText(dir_.Sub("models/orders_changed.sql"),
            "select order_id, customer_id, status, case when order_id = 2 then amount + 1 else amount end as amount, "
            "ordered_at from {{ ref('orders') }} where order_id <> 3");
  WriteText(dir_.Sub("models/audit.sql"),
            "{{ config(materialized='table') }}\n"
            "{{ audit_helper.compare_relations(a_relation=ref('orders'), b_relation=ref('orders_changed'), "
            "primary_key='order_id') }}");
  WriteText(dir_.Sub("models/schema.yml"), R"(version: 2
models:
  - name: deduped
    tests:
      - dbt_utils.unique_combination_of_columns: {combination_of_columns: [order_id]}
      - dbt_utils.expression_is_true: {expression: "amount > 0"}
      - dbt_expectations.expect_table_row_count_to_equal: {value: 4}
      - dbt_utils.equality: {compare_model: ref('orders_changed')}
      - dbt_utils.equal_rowcount: {compare_model: ref('orders_b')}
    columns:
      - name: amount
        tests:
          - dbt_utils.accepted_range: {min_value: 0}
          - dbt_expectations.expect_column_values_to_be_between: {min_value: 0, max_value: 100}
          - dbt_expectations.expect_column_values_to_be_between:
              name: amount_at_most_10
              max_value: 10
      - name: status
        tests:
          - dbt_expectations.expect_column_values_to_be_in_set: {value_set: [paid, refunded]}
          - dbt_expectations.expect_column_values_to_match_regex: {regex: "^(paid|refunded)$"}
  - name: orders_changed
    tests:
      - dbt_utils.equality: {compare_model: ref('orders_changed')}
      - dbt_utils.equal_rowcount: {compare_model: ref('deduped')}
  - name: dates
    columns:
      - name: date_day
        tests: [unique, not_null]
)");
  auto r = Run(Verb::kBuild);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Every model succeeds: audit reads orders and orders_changed only, so the failing equality
  // test of deduped (which depends on deduped and orders_changed) must not skip it, as dbt
  // gates a node only on tests whose every parent is upstream of it.
  // Which tests fail, and by how many rows: amounts above 10 are 10.50 and 20.00; deduped and
  // orders_changed differ (order 3 and order 2's amount), so their equality fails.
  std::map<std::string, std::string> outcome;
  for (const auto& x : r->results) {
    if (x.resource_type == "test") {
      outcome[x.name] = x.status + (x.status == "fail" ? " " + std::to_string(x.failures) : "");
    } else {
      EXPECT_EQ(x.status, "success") << x.name << ": " << x.message;
    }
  }
  EXPECT_EQ(outcome["amount_at_most_10"], "fail 2");
  // equal_rowcount sets fail_calc = sum(diff_count) with config() inside its macro: 4 rows
  // against 1 fail by 3; 4 against 4 pass (count(*) of its one-row result would fail both).
  EXPECT_EQ(outcome["dbt_utils_equal_rowcount_deduped_ref_orders_b_"], "fail 3");
  EXPECT_EQ(outcome["dbt_utils_equal_rowcount_orders_changed_ref_deduped_"], "pass");
  EXPECT_EQ(outcome["dbt_utils_equality_deduped_ref_orders_changed_"].substr(0, 4), "fail");
  EXPECT_EQ(outcome["dbt_utils_equality_orders_changed_ref_orders_changed_"], "pass");
  EXPECT_EQ(outcome["dbt_utils_unique_combination_of_columns_deduped_order_id"], "pass");
  EXPECT_EQ(outcome["dbt_utils_expression_is_true_deduped_amount_0"], "pass");
  EXPECT_EQ(outcome["dbt_expectations_expect_table_row_count_to_equal_deduped_4"], "pass");
  EXPECT_EQ(outcome["dbt_utils_accepted_range_deduped_amount__0"], "pass");
  EXPECT_EQ(outcome["unique_dates_date_day"], "pass");
  int passed = 0;
  for (const auto& [name, o] : outcome) passed += o == "pass";
  EXPECT_EQ(passed, static_cast<int>(outcome.size()) - 3) << ::testing::PrintToString(outcome);

  // dbt_date's spine ends before its end date: 2024-01-01 .. 2024-01-09. 2024-01-01 is a Monday.
  EXPECT_EQ(Rows("select count(*), min(cast(date_day as date)), max(cast(date_day as date)) from {S}.dates"),
            (V{"9|2024-01-01|2024-01-09"}));
  EXPECT_EQ(Rows("select day_of_week_name, month_name, quarter_of_year, "
                 "cast(week_start_date as date), cast(iso_week_start_date as date), cast(month_end_date as date), "
                 "cast(prior_year_date_day as date), day_of_year, iso_week_of_year "
                 "from {S}.dates where cast(date_day as date) = date '2024-01-07'"),
            (V{"Sunday|January|1|2024-01-07|2024-01-01|2024-01-31|2023-01-07|7|1"}));
  // dbt_date's PostgreSQL dimension numbers days the ISO way (Sunday 7) and has no
  // day_of_week_iso; the default one counts from Sunday (1) and has both.
  if (GetParam() == "postgres") {
    EXPECT_EQ(Rows("select day_of_week from {S}.dates where cast(date_day as date) = date '2024-01-07'"), (V{"7"}));
  } else {
    EXPECT_EQ(Rows("select day_of_week, day_of_week_iso from {S}.dates where cast(date_day as date) = date "
                   "'2024-01-07'"),
              (V{"1|7"}));
  }
  // audit_helper: distinct rows of orders {1, 2, 3, 4}, of orders_changed {1, 2', 4}: both have
  // 1 and 4; 2 and 3 only in orders; 2' only in orders_changed. 5 rows: 40%, 40%, 20%.
  EXPECT_EQ(Rows("select case when in_a then 'Y' else 'N' end, case when in_b then 'Y' else 'N' end, count, "
                 "cast(percent_of_total as decimal(5,2)) from {S}.audit order by 1 desc, 2 desc"),
            (V{"Y|Y|2|40.00", "Y|N|2|40.00", "N|Y|1|20.00"}));
}

// The context members real macros use, rendered into a model and read back.
TEST_P(PackagesTest, ContextMembersBehaveAsPythonsDo) {
  WriteText(dir_.Sub("models/ctx.sql"), R"({% set m = modules.re.search('(\d+)-(\d+)', 'abc 12-34 x') %}
select '{{ m.group(1) }}|{{ m.groups() | join(",") }}|{{ modules.re.sub('[aeiou]', '_', 'banana') }}' as re_,
  '{{ modules.re.findall('a(n)', 'banana') | join(",") }}|{{ modules.re.match('an', 'banana') is none }}' as re2,
  '{{ modules.datetime.date(2024, 2, 29) }}|{{ modules.datetime.datetime(2024, 3, 1, 13, 5).strftime('%Y%m%d %H%M') }}' as dt,
  '{{ local_md5('abc') }}' as h,
  '{{ tojson({'a': [1, 2], 'b': none}) }}|{{ fromjson('{"x": 3}').x }}|{{ fromjson('not json', 'dflt') }}' as js,
  '{{ set([3, 1, 3, 2]) | join(",") }}|{{ set(['b', 'a']) == set(['a', 'b', 'a']) }}' as s,
  '{{ 'true' | as_bool }}|{{ '42' | as_number + 1 }}|{{ (modules.itertools.product([1, 2], ['a'])) | length }}' as conv,
  '{{ fromyaml('a: [1, 2]
b: x').a[1] }}|{{ toyaml({'k': ['v', 1]}) | replace('
', ';') }}' as yml,
  '{{ modules.itertools.combinations([1, 2, 3], 2) | length }}|{{ modules.itertools.chain([1], [2, 3]) | join }}' as it
)");
  auto r = Run(Verb::kRun);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->results.size(), 1u);
  ASSERT_EQ(r->results[0].status, "success") << r->results[0].message;
  EXPECT_EQ(Rows("select re_, re2, dt, h, js, s, conv, yml, it from {S}.ctx"),
            (V{"12|12,34|b_n_n_|n,n|True|2024-02-29|20240301 1305|900150983cd24fb0d6963f7d28e17f72|"
               "{\"a\": [1, 2], \"b\": null}|3|dflt|1,2,3|True|True|43|2|2|k:;- v;- 1;|3|123"}));
}

// generate_schema_name gets the whole node (resource_type, fqn, config...), and `graph`
// lists the project's nodes once executing.
TEST_P(PackagesTest, NamingMacrosGetTheNodeAndGraphListsNodes) {
  WriteText(dir_.Sub("macros/naming.sql"), R"({% macro generate_schema_name(custom_schema_name, node) -%}
  {%- if node.resource_type == 'seed' -%}{{ target.schema }}_raw
  {%- elif node.fqn | length > 2 -%}{{ target.schema }}_{{ node.fqn[1] }}
  {%- else -%}{{ target.schema }}{%- endif -%}
{%- endmacro %})");
  WriteText(dir_.Sub("models/marts/graphy.sql"),
            "{% set seeds = [] %}{% if execute %}{% for id, n in graph.nodes.items() %}"
            "{% if n.resource_type == 'seed' %}{% do seeds.append(n.name ~ '@' ~ n.schema) %}{% endif %}"
            "{% endfor %}{% endif %}\n"
            "select '{{ seeds | sort | join(\",\") }}' as seeds, {{ graph.nodes | length }} as n "
            "from {{ ref('people') }} limit 1");
  auto r = Run(Verb::kBuild);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const auto& x : r->results) EXPECT_EQ(x.status, "success") << x.name << ": " << x.message;
  // 3 seeds and 1 model; the seeds live in <schema>_raw, the model in <schema>_marts.
  EXPECT_EQ(Rows("select seeds, n from {S}_marts.graphy"),
            (V{"orders@" + schema_ + "_raw,orders_b@" + schema_ + "_raw,people@" + schema_ + "_raw|4"}));
}

// The user's path: packages.yml pins the four packages, `strata deps` installs them (and
// their own dependencies, which the pins satisfy), `strata build` builds the project
// unchanged; a second `deps` changes nothing.
TEST_P(PackagesTest, DepsThenBuildFromTheCommandLine) {
  if (GetParam() != "duckdb") GTEST_SKIP() << "the command line is the same on both engines";
  std::string packages = "packages:\n";
  for (const char* p : kPackages) packages += "  - local: " + shared_ + "/" + p + "\n";
  WriteText(dir_.Sub("packages.yml"), packages);
  WriteText(dir_.Sub("models/keys.sql"),
            "select order_id, {{ dbt_utils.generate_surrogate_key(['order_id', 'customer_id']) }} as sk\n"
            "from {{ ref('orders') }}");
  WriteText(dir_.Sub("models/schema.yml"),
            "version: 2\nmodels:\n  - name: keys\n    tests:\n"
            "      - dbt_expectations.expect_table_row_count_to_equal: {value: 5}\n");
  // Without deps the project says what to do.
  auto before = testing::RunCommand({testing::StrataBinary(), "build", "--project-dir", dir_.path()});
  EXPECT_NE(before.exit_code, 0);
  EXPECT_NE(before.err.find("strata deps"), std::string::npos) << before.err;

  auto deps = testing::RunCommand({testing::StrataBinary(), "deps", "--project-dir", dir_.path()});
  ASSERT_EQ(deps.exit_code, 0) << deps.out << deps.err;
  for (const char* name : {"dbt_utils", "dbt_date", "dbt_expectations", "audit_helper"}) {
    EXPECT_TRUE(fs::exists(dir_.Sub(std::string("dbt_packages/") + name + "/dbt_project.yml"))) << name;
  }
  EXPECT_TRUE(fs::exists(dir_.Sub("package-lock.yml")));
  auto build = testing::RunCommand({testing::StrataBinary(), "build", "--project-dir", dir_.path()});
  ASSERT_EQ(build.exit_code, 0) << build.out << build.err;
  EXPECT_NE(build.out.find("ERROR=0 FAIL=0"), std::string::npos) << build.out;
  auto lock = ReadFile(dir_.Sub("package-lock.yml"));
  ASSERT_TRUE(lock.ok());
  auto again = testing::RunCommand({testing::StrataBinary(), "deps", "--project-dir", dir_.path()});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(*ReadFile(dir_.Sub("package-lock.yml")), *lock);
}

INSTANTIATE_TEST_SUITE_P(Engines, PackagesTest, ::testing::Values("duckdb", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace strata::transform
