// dbt's cross-database macros (src/transform/macros/cross_db.sql) run on DuckDB and PostgreSQL.
// Each check is a macro call in a model; its value, read back from the warehouse as text, is
// compared with a value worked out by hand (calendar arithmetic, md5 of a known string, ...),
// never copied from the engine's output. Where dbt-postgres and dbt-duckdb differ, the check
// says so and expects each engine's own answer.
#include <gtest/gtest.h>

#include <map>

#include "transform/dbt_test_project.h"

namespace strata::transform {
namespace {

using V = std::vector<std::string>;

// One value to check: `expr` is Jinja + SQL for a scalar (it may be a subquery over the
// model's rows `t`); `want` is its text, "NULL" for NULL; `want_pg`, when set, is PostgreSQL's
// where it differs from DuckDB's.
struct Check {
  std::string name;
  std::string expr;
  std::string want;
  std::string want_pg = "";
};

// SQL text for a date or a timestamp literal (the macros take SQL expressions).
std::string D(const std::string& d) { return "cast('" + d + "' as date)"; }
std::string T(const std::string& t) { return "cast('" + t + "' as timestamp)"; }

class CrossDb : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    p_.Write("dbt_project.yml", "name: xdb\nprofile: xdb\nmodels:\n  xdb:\n    +materialized: table\n");
    p_.Init(GetParam(), "xdb", "x");
  }

  bool Pg() const { return p_.pg(); }

  void Model(const std::string& name, const std::string& sql) { p_.Write("models/" + name + ".sql", sql); }

  // Builds every model; the results by model name.
  std::map<std::string, NodeResult> Run() {
    std::map<std::string, NodeResult> out;
    auto r = p_.Run(Verb::kRun);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return out;
    for (const auto& x : r->results) out[x.name] = x;
    return out;
  }

  // Rows of a query on the target schema ("{S}" in `sql`), cells joined by '|'.
  V Rows(const std::string& sql) { return p_.Rows(sql); }

  // Builds one model holding every check as a row (check_name, value as text) over the rows
  // t(n, s, flag) = (1,'b',false) (2,'a',false) (3,'c',true) (4,'d',false), and compares each.
  void RunChecks(const std::vector<Check>& checks) {
    std::string sql =
        "with t(n, s, flag) as (values (1, 'b', false), (2, 'a', false), (3, 'c', true), (4, 'd', false))\n";
    for (size_t i = 0; i < checks.size(); ++i) {
      sql += std::string(i ? "union all\n" : "") + "select '" + checks[i].name + "' as check_name, cast((" +
             checks[i].expr + ") as TEXT) as v\n";
    }
    Model("checks", sql);
    auto results = Run();
    ASSERT_EQ(results.count("checks"), 1u);
    const NodeResult& r = results["checks"];
    ASSERT_EQ(r.status, "success") << r.message << "\n" << r.compiled_sql;
    std::map<std::string, std::string> got;
    for (const auto& row : Rows("select check_name, coalesce(v, 'NULL') from {S}.checks")) {
      got[row.substr(0, row.find('|'))] = row.substr(row.find('|') + 1);
    }
    for (const Check& c : checks) {
      const std::string& want = Pg() && !c.want_pg.empty() ? c.want_pg : c.want;
      EXPECT_EQ(got[c.name], want) << c.name << ": " << c.expr;
    }
  }

  DbtTestProject p_;
};

// Bare names here; the other tests call the same macros as dbt.<name>.
TEST_P(CrossDb, Strings) {
  RunChecks({
      {"concat", "{{ concat([\"'a'\", \"'b'\", \"'c'\"]) }}", "abc"},
      {"concat_one", "{{ concat([\"'x'\"]) }}", "x"},
      {"escape_single_quotes", "'{{ escape_single_quotes(\"they're\") }}'", "they're"},
      {"string_literal", "{{ string_literal('hello') }}", "hello"},
      // md5("abc"), RFC 1321's test suite.
      {"hash", "{{ hash(\"'abc'\") }}", "900150983cd24fb0d6963f7d28e17f72"},
      {"hash_int", "{{ hash('42') }}", "a1d0c6e83f027327d8461063f4ac58a6"},
      {"length", "{{ length(\"'hello'\") }}", "5"},
      {"position", "{{ position(\"'b'\", \"'abc'\") }}", "2"},
      {"position_absent", "{{ position(\"'z'\", \"'abc'\") }}", "0"},
      {"replace", "{{ replace(\"'a-b-c'\", \"'-'\", \"'+'\") }}", "a+b+c"},
      {"right", "{{ right(\"'abcdef'\", 3) }}", "def"},
      {"split_part", "{{ split_part(\"'a,b,c'\", \"','\", 2) }}", "b"},
      {"split_part_last", "{{ split_part(\"'a,b,c'\", \"','\", -1) }}", "c"},
      {"split_part_second_last", "{{ split_part(\"'a,b,c'\", \"','\", -2) }}", "b"},
      {"split_part_first_from_end", "{{ split_part(\"'a,b,c'\", \"','\", -3) }}", "a"},
      // A two-character delimiter: pieces a, b, c.
      {"split_part_negative_long_delimiter", "{{ split_part(\"'a, b, c'\", \"', '\", -1) }}", "c"},
      {"cast_bool_to_text", "{{ cast_bool_to_text('1 < 2') }}", "true"},
      {"cast_bool_to_text_false", "{{ cast_bool_to_text('false') }}", "false"},
      {"cast", "{{ cast(\"'41'\", type_int()) }} + 1", "42"},
      {"safe_cast", "{{ safe_cast(\"'41'\", type_bigint()) }} + 1", "42"},
      {"equals", "case when {{ equals('1', '1') }} then 'y' else 'n' end", "y"},
      {"equals_different", "case when {{ equals('1', '2') }} then 'y' else 'n' end", "n"},
      {"equals_both_null", "case when {{ equals('null', 'null') }} then 'y' else 'n' end", "y"},
      {"equals_one_null", "case when {{ equals('1', 'null') }} then 'y' else 'n' end", "n"},
  });
}

// dbt's type names are the same text on both engines; what they mean differs for FLOAT (double
// precision on PostgreSQL, a 4-byte REAL on DuckDB).
TEST_P(CrossDb, TypeNames) {
  Model("type_names",
        "select '{{ dbt.type_string() }}' as s, '{{ dbt.type_timestamp() }}' as ts, '{{ dbt.type_float() }}' as f, "
        "'{{ dbt.type_numeric() }}' as num, '{{ dbt.type_bigint() }}' as bi, '{{ dbt.type_int() }}' as i, "
        "'{{ dbt.type_boolean() }}' as b");
  Model("typed",
        "select cast('x' as {{ dbt.type_string() }}) as s, cast('2024-01-01 10:00' as {{ dbt.type_timestamp() }}) as "
        "ts, cast(1.5 as {{ dbt.type_float() }}) as f, cast(1.5 as {{ dbt.type_numeric() }}) as num, "
        "cast(1 as {{ dbt.type_bigint() }}) as bi, cast(1 as {{ dbt.type_int() }}) as i, "
        "cast('true' as {{ dbt.type_boolean() }}) as b");
  auto r = Run();
  for (const auto& [name, x] : r) EXPECT_EQ(x.status, "success") << name << ": " << x.message;
  EXPECT_EQ(Rows("select s, ts, f, num, bi, i, b from {S}.type_names"),
            (V{"TEXT|TIMESTAMP|FLOAT|numeric(28,6)|bigint|INT|BOOLEAN"}));
  const V pg_types = {
      "s|text",   "ts|timestamp without time zone", "f|double precision", "num|numeric", "bi|bigint", "i|integer",
      "b|boolean"};
  const V duck_types = {"s|VARCHAR", "ts|TIMESTAMP", "f|FLOAT",  "num|DECIMAL(28,6)",
                        "bi|BIGINT", "i|INTEGER",    "b|BOOLEAN"};
  EXPECT_EQ(Rows("select column_name, data_type from information_schema.columns where table_schema = '{S}' and "
                 "table_name = 'typed' order by ordinal_position"),
            Pg() ? pg_types : duck_types);
  EXPECT_EQ(Rows("select cast(num as varchar) from {S}.typed"), (V{"1.500000"}));
}

TEST_P(CrossDb, DateArithmetic) {
  RunChecks({
      {"dateadd_day", "{{ dbt.dateadd('day', 3, \"" + D("2024-01-30") + "\") }}", "2024-02-02 00:00:00"},
      {"dateadd_day_negative", "cast({{ dbt.dateadd('day', -1, \"" + D("2024-03-01") + "\") }} as date)", "2024-02-29"},
      // A month from January 31st is the last day of February.
      {"dateadd_month", "cast({{ dbt.dateadd('month', 1, \"" + D("2024-01-31") + "\") }} as date)", "2024-02-29"},
      {"dateadd_year", "cast({{ dbt.dateadd('year', -1, \"" + D("2024-02-29") + "\") }} as date)", "2023-02-28"},
      {"dateadd_week", "cast({{ dbt.dateadd('week', 2, \"" + D("2024-01-01") + "\") }} as date)", "2024-01-15"},
      {"dateadd_hour", "{{ dbt.dateadd('hour', 25, \"" + T("2024-01-01 00:00:00") + "\") }}", "2024-01-02 01:00:00"},
      // The interval may be an expression.
      {"dateadd_expression", "{{ dbt.dateadd('minute', '45 + 45', \"" + T("2024-01-01 00:00:00") + "\") }}",
       "2024-01-01 01:30:00"},
      {"dateadd_column", "(select {{ dbt.dateadd('day', 'n', \"" + D("2024-01-01") + "\") }} from t where n = 4)",
       "2024-01-05 00:00:00"},
      {"date_trunc_month", "cast({{ dbt.date_trunc('month', \"" + D("2024-02-10") + "\") }} as date)", "2024-02-01"},
      // Truncation to a week goes back to Monday on both engines (Wednesday 2024-01-10 -> 01-08).
      {"date_trunc_week", "cast({{ dbt.date_trunc('week', \"" + D("2024-01-10") + "\") }} as date)", "2024-01-08"},
      {"date_trunc_year", "cast({{ dbt.date_trunc('year', \"" + T("2024-05-10 13:14:15") + "\") }} as date)",
       "2024-01-01"},
      {"last_day_month", "{{ dbt.last_day(\"" + D("2024-02-10") + "\", 'month') }}", "2024-02-29"},
      {"last_day_month_31", "{{ dbt.last_day(\"" + D("2023-12-01") + "\", 'month') }}", "2023-12-31"},
      {"last_day_quarter", "{{ dbt.last_day(\"" + D("2024-05-10") + "\", 'quarter') }}", "2024-06-30"},
      {"last_day_quarter_q1", "{{ dbt.last_day(\"" + D("2023-02-10") + "\", 'quarter') }}", "2023-03-31"},
      {"last_day_year", "{{ dbt.last_day(\"" + D("2024-05-10") + "\", 'year') }}", "2024-12-31"},
      {"date", "{{ dbt.date(2024, 2, 29) }}", "2024-02-29"},
      {"date_padded", "{{ dbt.date(987, 3, 5) }}", "0987-03-05"},
  });
}

// datediff counts boundaries crossed. Weeks follow dbt-postgres's rule on both engines (as
// dbt-duckdb does): a week starts on Sunday. DuckDB's own date_diff('week', ...) counts whole
// 7-day spans instead (Saturday -> Sunday is 0 there), which the macro does not use.
TEST_P(CrossDb, DateDiff) {
  auto dd = [](const std::string& a, const std::string& b, const std::string& part) {
    return "{{ dbt.datediff(\"" + a + "\", \"" + b + "\", '" + part + "') }}";
  };
  RunChecks({
      {"year", dd(D("2023-12-31"), D("2024-01-01"), "year"), "1"},
      {"year_back", dd(D("2024-06-01"), D("2021-01-01"), "year"), "-3"},
      // Q4 2023 -> Q2 2024.
      {"quarter", dd(D("2023-11-15"), D("2024-05-15"), "quarter"), "2"},
      {"quarter_boundary", dd(D("2024-03-31"), D("2024-04-01"), "quarter"), "1"},
      {"month", dd(D("2024-01-31"), D("2024-03-01"), "month"), "2"},
      {"month_back", dd(D("2024-03-01"), D("2024-01-31"), "month"), "-2"},
      {"month_same", dd(D("2024-02-01"), D("2024-02-29"), "month"), "0"},
      // 2 days to February 1st, then 29 days of February.
      {"day", dd(D("2024-01-30"), D("2024-03-01"), "day"), "31"},
      {"day_of_timestamps", dd(T("2024-01-01 23:00:00"), T("2024-01-02 01:00:00"), "day"), "1"},
      // 2024-01-06 is a Saturday, 01-07 a Sunday, 01-08 a Monday.
      {"week_sat_sun", dd(D("2024-01-06"), D("2024-01-07"), "week"), "1"},
      {"week_sun_mon", dd(D("2024-01-07"), D("2024-01-08"), "week"), "0"},
      {"week_mon_sun", dd(D("2024-01-01"), D("2024-01-07"), "week"), "1"},
      {"week_sun_sat", dd(D("2024-01-07"), D("2024-01-13"), "week"), "0"},
      {"week_sun_sun", dd(D("2024-01-07"), D("2024-01-14"), "week"), "1"},
      {"week_four", dd(D("2024-01-01"), D("2024-01-29"), "week"), "4"},
      // Back from Sunday 01-14 to Saturday 01-06 crosses the Sundays 01-14 and 01-07.
      {"week_back", dd(D("2024-01-14"), D("2024-01-06"), "week"), "-2"},
      {"week_back_sun_sat", dd(D("2024-01-07"), D("2024-01-06"), "week"), "-1"},
      {"hour", dd(T("2024-01-01 23:59:00"), T("2024-01-02 00:01:00"), "hour"), "1"},
      {"hour_days", dd(T("2024-01-01 10:00:00"), T("2024-01-03 09:00:00"), "hour"), "47"},
      {"minute", dd(T("2024-01-01 10:00:59"), T("2024-01-01 10:01:00"), "minute"), "1"},
      {"second", dd(T("2024-01-01 00:00:00.9"), T("2024-01-01 00:00:01.1"), "second"), "1"},
      {"second_day", dd(T("2024-01-01 00:00:00"), T("2024-01-02 00:00:00"), "second"), "86400"},
      {"millisecond", dd(T("2024-01-01 00:00:00.9994"), T("2024-01-01 00:00:01.0001"), "millisecond"), "1"},
      // One minute boundary (60000) plus 250 - 59500 milliseconds into the minutes.
      {"millisecond_minute", dd(T("2024-01-01 00:00:59.5"), T("2024-01-01 00:01:00.25"), "millisecond"), "750"},
      {"microsecond", dd(T("2024-01-01 00:00:00.000001"), T("2024-01-01 00:00:01"), "microsecond"), "999999"},
  });
}

TEST_P(CrossDb, AggregatesAndSetOperators) {
  RunChecks({
      {"any_value", "(select {{ dbt.any_value('k') }} from (values ('z'), ('z')) as u(k))", "z"},
      {"bool_or", "(select {{ dbt.bool_or('flag') }} from t)", "true"},
      {"bool_or_none", "(select {{ dbt.bool_or('flag') }} from t where n <> 3)", "false"},
      {"listagg_default_delimiter", "(select {{ dbt.listagg('s') }} from t where n = 3)", "c"},
      {"listagg_ordered", "(select {{ dbt.listagg('s', \"','\", 'order by s') }} from t)", "a,b,c,d"},
      {"listagg_delimiter", "(select {{ dbt.listagg('s', \"' | '\", 'order by n desc') }} from t)", "d | c | a | b"},
      // The first two by n: n = 1 is 'b', n = 2 is 'a'.
      {"listagg_limit", "(select {{ dbt.listagg('s', \"','\", 'order by n', 2) }} from t)", "b,a"},
      {"listagg_limit_kwargs",
       "(select {{ dbt.listagg(measure='s', delimiter_text=\"'-'\", order_by_clause='order by s desc', limit_num=3) "
       "}} from t)",
       "d-c-b"},
      {"except", "(select count(*) from (select n from t {{ dbt.except() }} select 3) as x)", "3"},
      {"intersect",
       "(select max(n) from (select n from t where n < 3 {{ dbt.intersect() }} select n from t where n > 1) as x)",
       "2"},
  });
}

// Arrays print as {1,2} on PostgreSQL and [1, 2] on DuckDB.
TEST_P(CrossDb, Arrays) {
  RunChecks({
      {"array_construct", "{{ dbt.array_construct(['1', '2', '3']) }}", "[1, 2, 3]", "{1,2,3}"},
      {"array_construct_text", "{{ dbt.array_construct([\"'a'\", \"'b'\"]) }}", "[a, b]", "{a,b}"},
      {"array_construct_empty", "{{ dbt.array_construct() }}", "[]", "{}"},
      {"array_construct_empty_typed", "{{ dbt.array_construct([], 'TEXT') }}", "[]", "{}"},
      {"array_append", "{{ dbt.array_append(dbt.array_construct(['1', '2']), '3') }}", "[1, 2, 3]", "{1,2,3}"},
      {"array_concat", "{{ dbt.array_concat(dbt.array_construct(['1']), dbt.array_construct(['2', '3'])) }}",
       "[1, 2, 3]", "{1,2,3}"},
  });
}

// generate_series(n) is numbers 1..n (double precision on PostgreSQL, where dbt builds them from
// powers of two; DuckDB's own series otherwise). date_spine excludes its end date; it queries
// the number of periods while compiling.
TEST_P(CrossDb, SeriesAndSpines) {
  Model("powers",
        "select {{ dbt.get_powers_of_two(1) }} as p1, {{ dbt.get_powers_of_two(5) }} as p5, "
        "{{ dbt.get_powers_of_two(8) }} as p8, {{ dbt.get_powers_of_two(9) }} as p9");
  Model("series5", "{{ dbt.generate_series(5) }}");
  Model("series1", "{{ generate_series(1) }}");
  Model("series9", "{{ dbt.generate_series(9) }}");
  Model("spine_day", "{{ dbt.date_spine('day', \"" + D("2024-01-01") + "\", \"" + D("2024-01-05") + "\") }}");
  // Each month is added to the start (January 31st), not to the month before.
  Model("spine_month", "{{ dbt.date_spine('month', \"" + D("2024-01-31") + "\", \"" + D("2024-05-01") + "\") }}");
  Model("spine_week", "{{ date_spine('week', \"" + D("2024-01-01") + "\", \"" + D("2024-01-29") + "\") }}");
  auto r = Run();
  for (const auto& [name, x] : r) EXPECT_EQ(x.status, "success") << name << ": " << x.message << "\n" << x.compiled_sql;
  EXPECT_EQ(Rows("select p1, p5, p8, p9 from {S}.powers"), (V{"1|3|3|4"}));
  EXPECT_EQ(Rows("select cast(generated_number as bigint) from {S}.series5 order by 1"), (V{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(Rows("select cast(generated_number as bigint) from {S}.series1"), (V{"1"}));
  EXPECT_EQ(Rows("select count(*), cast(min(generated_number) as bigint), cast(max(generated_number) as bigint) "
                 "from {S}.series9"),
            (V{"9|1|9"}));
  EXPECT_EQ(Rows("select cast(date_day as date) from {S}.spine_day order by 1"),
            (V{"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"}));
  EXPECT_EQ(Rows("select cast(date_month as date) from {S}.spine_month order by 1"),
            (V{"2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"}));
  EXPECT_EQ(Rows("select cast(date_week as date) from {S}.spine_week order by 1"),
            (V{"2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"}));
}

// The current time: current_timestamp() keeps its time zone; the others are timestamps without
// one, in the session's time zone (the UTC variant in UTC on PostgreSQL only, as in dbt).
TEST_P(CrossDb, CurrentTimestamps) {
  Model("now",
        "select {{ dbt.current_timestamp() }} as now_tz, {{ dbt.snapshot_get_time() }} as snap, "
        "{{ current_timestamp_backcompat() }} as backcompat, {{ dbt.current_timestamp_in_utc_backcompat() }} as utc");
  auto r = Run();
  ASSERT_EQ(r["now"].status, "success") << r["now"].message;
  EXPECT_EQ(Rows("select column_name, data_type from information_schema.columns where table_schema = '{S}' and "
                 "table_name = 'now' order by ordinal_position"),
            Pg() ? (V{"now_tz|timestamp with time zone", "snap|timestamp without time zone",
                      "backcompat|timestamp without time zone", "utc|timestamp without time zone"})
                 : (V{"now_tz|TIMESTAMP WITH TIME ZONE", "snap|TIMESTAMP", "backcompat|TIMESTAMP", "utc|TIMESTAMP"}));
  // Built moments ago: the same day (give or take one, for UTC and a run at midnight).
  EXPECT_EQ(Rows("select cast(now_tz as date) between current_date - 1 and current_date + 1, "
                 "cast(snap as date) between current_date - 1 and current_date + 1, "
                 "cast(backcompat as date) between current_date - 1 and current_date + 1, "
                 "cast(utc as date) between current_date - 1 and current_date + 1 from {S}.now"),
            (V{"true|true|true|true"}));
  EXPECT_NE(r["now"].compiled_sql.find(Pg() ? "(current_timestamp at time zone 'utc')::TIMESTAMP as utc"
                                            : "current_timestamp::timestamp as utc"),
            std::string::npos)
      << r["now"].compiled_sql;
}

// The SQL each adapter compiles to, as dbt-postgres and dbt-duckdb write it.
TEST_P(CrossDb, CompiledSql) {
  Model("compiled",
        "select {{ dbt.dateadd('day', 3, 'd') }} as a, {{ dbt.datediff('d', 'd', 'day') }} as b, "
        "{{ dbt.any_value('d') }} as c, {{ dbt.split_part('x', \"','\", -1) }} as e\n"
        "from (select cast('2024-01-01' as date) as d, 'p,q' as x) as src group by d, x");
  auto r = Run();
  const NodeResult& c = r["compiled"];
  EXPECT_EQ(c.status, "success") << c.message;
  const std::string want =
      Pg() ? "select d + ((interval '1 day') * (3)) as a, ((d)::date - (d)::date) as b, min(d) as c, "
             "split_part(x, ',', (length(x) - length(replace(x, ',', ''))) / length(',') + 2 + (-1)) as e"
           : "select (d + cast(3 as bigint) * interval 1 day) as a, date_diff('day', (d)::timestamp, (d)::timestamp) "
             "as b, arbitrary(d) as c, string_split(x, ',')[-1] as e";
  EXPECT_NE(c.compiled_sql.find(want), std::string::npos) << c.compiled_sql;
  EXPECT_EQ(Rows("select cast(a as date), b, cast(c as date), e from {S}.compiled"), (V{"2024-01-04|0|2024-01-01|q"}));
}

// Where the two engines disagree. split_part and dateadd give dbt-postgres's and dbt-duckdb's
// answers; safe_cast is NULL on DuckDB through try_cast, where dbt-duckdb compiles a plain cast
// (and fails), and an error on PostgreSQL, which has no non-failing cast, as with dbt-postgres.
TEST_P(CrossDb, WhereTheAdaptersDiffer) {
  Model("bad_cast", "select {{ dbt.safe_cast(\"'abc'\", dbt.type_int()) }} as v");
  // split_part past the last piece: '' on PostgreSQL, NULL on DuckDB.
  Model("past_end", "select coalesce({{ dbt.split_part(\"'a,b'\", \"','\", 5) }}, 'NULL') as v");
  // A quarter: PostgreSQL's interval input has none (as with dbt-postgres); dbt-duckdb adds three
  // months.
  Model("quarter", "select {{ dbt.dateadd('quarter', 1, \"" + D("2024-01-15") + "\") }} as v");
  auto r = Run();
  EXPECT_EQ(r["past_end"].status, "success") << r["past_end"].message;
  EXPECT_EQ(Rows("select '[' || v || ']' from {S}.past_end"), (V{Pg() ? "[]" : "[NULL]"}));
  if (Pg()) {
    EXPECT_EQ(r["bad_cast"].status, "error");
    EXPECT_NE(r["bad_cast"].message.find("invalid input syntax for type integer"), std::string::npos)
        << r["bad_cast"].message;
    EXPECT_EQ(r["quarter"].status, "error");
    EXPECT_NE(r["quarter"].message.find("1 quarter"), std::string::npos) << r["quarter"].message;
  } else {
    EXPECT_EQ(r["bad_cast"].status, "success") << r["bad_cast"].message;
    EXPECT_EQ(Rows("select coalesce(cast(v as varchar), 'NULL') from {S}.bad_cast"), (V{"NULL"}));
    EXPECT_EQ(r["quarter"].status, "success") << r["quarter"].message;
    EXPECT_EQ(Rows("select cast(v as date) from {S}.quarter"), (V{"2024-04-15"}));
  }
}

// get_intervals_between queries the warehouse while compiling (a datediff: double precision
// for months on PostgreSQL). date_spine takes its number of rows from it: none is an error on
// PostgreSQL, where dbt's generate_series refuses a count below one, and no rows on DuckDB,
// whose series function dbt-duckdb uses.
TEST_P(CrossDb, IntervalsAreQueriedWhileCompiling) {
  Model("intervals", "select {{ dbt.get_intervals_between(\"" + D("2024-01-01") + "\", \"" + D("2024-03-01") +
                         "\", 'day') }} as days, {{ dbt.get_intervals_between(\"" + D("2024-01-01") + "\", \"" +
                         D("2024-03-01") + "\", 'month') }} as months");
  Model("empty_spine", "{{ dbt.date_spine('day', \"" + D("2024-01-05") + "\", \"" + D("2024-01-05") + "\") }}");
  auto r = Run();
  ASSERT_EQ(r["intervals"].status, "success") << r["intervals"].message;
  // 31 days of January and 29 of February.
  EXPECT_EQ(Rows("select days, cast(months as bigint) from {S}.intervals"), (V{"60|2"}));
  EXPECT_NE(r["intervals"].compiled_sql.find(Pg() ? "2.0 as months" : "2 as months"), std::string::npos)
      << r["intervals"].compiled_sql;
  if (Pg()) {
    EXPECT_EQ(r["empty_spine"].status, "error");
    EXPECT_NE(r["empty_spine"].message.find("upper bound must be positive"), std::string::npos)
        << r["empty_spine"].message;
  } else {
    EXPECT_EQ(r["empty_spine"].status, "success") << r["empty_spine"].message;
    EXPECT_EQ(Rows("select count(*) from {S}.empty_spine"), (V{"0"}));
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, CrossDb, ::testing::Values("duckdb", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace strata::transform
