// Expectations against hand-worked cases, on DuckDB and on PostgreSQL. The table below has ten
// rows chosen so that every number in the assertions can be counted by eye (the comments show
// the counting); GE's documented rules are asserted where they bite: nulls are missing, not
// unexpected; `mostly` is over the non-null values; duplicates are all listed; percentages are
// 0-100; an empty batch passes map expectations vacuously.
#include "quality/validator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "pg_testing.h"
#include "quality/expectations.h"
#include "quality/profile.h"
#include "warehouse/session.h"

namespace strata::quality {
namespace {

using nlohmann::json;

//  id name   amount status     created     a    b    js         code
const char* kRows[] = {
    "(1, 'alice', 10.0, 'paid', DATE '2024-01-01', 5, 3, '{\"x\": 1}', 'AB-1')",
    "(2, 'bob', 20.0, 'paid', DATE '2024-01-02', 4, 4, '[1, 2]', 'AB-2')",
    "(3, 'carol', 30.0, 'shipped', DATE '2024-01-03', 3, 5, 'not json', 'XY-3')",
    "(4, NULL, 40.0, 'paid', DATE '2024-01-04', NULL, 1, NULL, 'AB-4')",
    "(5, 'eve', NULL, 'cancelled', DATE '2024-01-05', 2, NULL, '{}', 'ab-5')",
    "(6, 'bob', 60.0, 'paid', NULL, NULL, NULL, '\"s\"', NULL)",
    "(7, 'dave', 70.0, 'weird', DATE '2024-01-07', 9, 1, 'true', 'AB-7')",
    "(8, 'frank', 80.0, 'paid', DATE '2024-01-08', 1, 0, '1', 'AB-8')",
    "(9, 'grace', 90.0, NULL, DATE '2024-01-09', 7, 7, '{\"a\":', 'AB-9')",
    "(10, 'bob', 100.0, 'shipped', DATE '2024-01-10', 8, 2, 'null', 'AB-10')",
};
const double kAmounts[] = {10, 20, 30, 40, 60, 70, 80, 90, 100};  // the non-null ones

class ValidatorTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      const testing::PgServer* s = testing::Postgres();
      ASSERT_NE(s, nullptr);
      auto e = warehouse::OpenPostgres(testing::PgOptions(*s));
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      engine_ = std::move(*e);
      schema_ = testing::PgTestSchema("quality");
    } else {
      auto e = warehouse::OpenDuckDb("");
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      engine_ = std::move(*e);
      schema_ = "q";
    }
    auto s = engine_->Connect();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    session_ = std::move(*s);
    std::string values;
    for (const char* r : kRows) values += std::string(values.empty() ? "" : ", ") + r;
    Status ok = session_->Execute("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_ +
                                  "; CREATE TABLE " + schema_ +
                                  ".t (id INTEGER, name VARCHAR(20), amount DOUBLE PRECISION, status VARCHAR(20), "
                                  "created DATE, a INTEGER, b INTEGER, js VARCHAR(20), code VARCHAR(10)); "
                                  "INSERT INTO " +
                                  schema_ + ".t VALUES " + values + "; CREATE TABLE " + schema_ +
                                  ".other AS SELECT * FROM " + schema_ + ".t WHERE id <= 9");
    ASSERT_TRUE(ok.ok()) << ok.ToString();
  }
  void TearDown() override {
    if (session_ && GetParam() == "postgres") (void)session_->Execute("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  }

  // The suite of `expectations` ([type, kwargs] pairs) validated on the table.
  json Run(const json& expectations, ValidateOptions options = {}, const std::string& filter = "") {
    json suite_json = {{"expectation_suite_name", "t"}, {"expectations", json::array()}};
    for (const auto& e : expectations) {
      suite_json["expectations"].push_back({{"expectation_type", e[0]}, {"kwargs", e[1]}});
    }
    auto suite = ParseSuite(suite_json.dump(), "t.json");
    EXPECT_TRUE(suite.ok()) << suite.status().ToString();
    if (!suite.ok()) return json();
    Batch batch;
    batch.relation = schema_ + ".t";
    batch.filter = filter;
    auto r = Validate(session_.get(), *suite, batch, options, &stats_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : json();
  }
  // One expectation's result.
  json One(const std::string& type, const json& kwargs, const std::string& format = "SUMMARY") {
    ValidateOptions o;
    o.result_format = format;
    json r = Run(json::array({json::array({type, kwargs})}), o);
    if (!r.contains("results") || r["results"].empty()) return json();
    const json& x = r["results"][0];
    EXPECT_FALSE(x["exception_info"]["raised_exception"].get<bool>()) << x.dump();
    return x;
  }

  std::unique_ptr<warehouse::Engine> engine_;
  std::unique_ptr<warehouse::Session> session_;
  std::string schema_;
  ValidateStats stats_;
};

TEST_P(ValidatorTest, NullsAndMostly) {
  json r = One("expect_column_values_to_not_be_null", {{"column", "name"}});
  EXPECT_FALSE(r["success"].get<bool>());
  EXPECT_EQ(r["result"]["element_count"], 10);
  EXPECT_EQ(r["result"]["unexpected_count"], 1);              // row 4
  EXPECT_DOUBLE_EQ(r["result"]["unexpected_percent"], 10.0);  // 0-100, over every row
  EXPECT_EQ(r["result"]["partial_unexpected_list"], json::array({nullptr}));
  EXPECT_TRUE(One("expect_column_values_to_not_be_null", {{"column", "name"}, {"mostly", 0.9}})["success"].get<bool>());
  EXPECT_FALSE(
      One("expect_column_values_to_not_be_null", {{"column", "name"}, {"mostly", 0.91}})["success"].get<bool>());
  json null = One("expect_column_values_to_be_null", {{"column", "code"}});
  EXPECT_EQ(null["result"]["unexpected_count"], 9);
}

TEST_P(ValidatorTest, UniqueListsEveryDuplicateAndCountsNullsAsMissing) {
  json r = One("expect_column_values_to_be_unique", {{"column", "name"}});
  EXPECT_FALSE(r["success"].get<bool>());
  EXPECT_EQ(r["result"]["missing_count"], 1);     // row 4
  EXPECT_EQ(r["result"]["unexpected_count"], 3);  // the three bobs
  EXPECT_NEAR(r["result"]["unexpected_percent"].get<double>(), 100.0 * 3 / 9, 1e-9);
  EXPECT_NEAR(r["result"]["unexpected_percent_total"].get<double>(), 30.0, 1e-9);
  EXPECT_EQ(r["result"]["partial_unexpected_list"], json({"bob", "bob", "bob"}));
  EXPECT_EQ(r["result"]["partial_unexpected_counts"], json::parse(R"([{"value": "bob", "count": 3}])"));
  json c = One("expect_compound_columns_to_be_unique", {{"column_list", {"name", "status"}}});
  EXPECT_EQ(c["result"]["unexpected_count"], 2);  // (bob, paid) twice
  EXPECT_EQ(c["result"]["partial_unexpected_list"], json::parse(R"([["bob", "paid"], ["bob", "paid"]])"));
}

TEST_P(ValidatorTest, SetsRangesLengthsAndPatterns) {
  const json paid_shipped_cancelled = {"paid", "shipped", "cancelled"};
  json in = One("expect_column_values_to_be_in_set", {{"column", "status"}, {"value_set", paid_shipped_cancelled}});
  EXPECT_FALSE(in["success"].get<bool>());
  EXPECT_EQ(in["result"]["unexpected_count"], 1);  // weird; row 9's null is missing
  EXPECT_EQ(in["result"]["missing_count"], 1);
  EXPECT_EQ(in["result"]["partial_unexpected_list"], json({"weird"}));
  EXPECT_TRUE(One("expect_column_values_to_be_in_set",
                  {{"column", "status"}, {"value_set", paid_shipped_cancelled}, {"mostly", 0.85}})["success"]
                  .get<bool>());  // 8 of 9
  EXPECT_EQ(One("expect_column_values_to_not_be_in_set",
                {{"column", "status"}, {"value_set", {"paid"}}})["result"]["unexpected_count"],
            5);
  // 10, 90 and 100 are outside [15, 85]; strict_min moves 20 out too when it is the minimum.
  EXPECT_EQ(One("expect_column_values_to_be_between",
                {{"column", "amount"}, {"min_value", 15}, {"max_value", 85}})["result"]["unexpected_count"],
            3);
  EXPECT_EQ(One("expect_column_values_to_be_between", {{"column", "amount"},
                                                       {"min_value", 20},
                                                       {"max_value", 85},
                                                       {"strict_min", true}})["result"]["unexpected_count"],
            4);
  EXPECT_EQ(One("expect_column_values_to_be_between",
                {{"column", "amount"}, {"min_value", nullptr}, {"max_value", 50}})["result"]["unexpected_count"],
            5);
  // alice, carol, frank, grace are longer than 4.
  EXPECT_EQ(One("expect_column_value_lengths_to_be_between",
                {{"column", "name"}, {"min_value", 3}, {"max_value", 4}})["result"]["unexpected_count"],
            4);
  EXPECT_EQ(
      One("expect_column_value_lengths_to_equal", {{"column", "name"}, {"value", 3}})["result"]["unexpected_count"], 5);
  // XY-3 and ab-5 do not match.
  json re = One("expect_column_values_to_match_regex", {{"column", "code"}, {"regex", "^AB-[0-9]+$"}});
  EXPECT_EQ(re["result"]["unexpected_count"], 2);
  EXPECT_EQ(re["result"]["missing_count"], 1);
  EXPECT_EQ(One("expect_column_values_to_not_match_regex",
                {{"column", "code"}, {"regex", "^AB"}})["result"]["unexpected_count"],
            7);
  EXPECT_EQ(
      One("expect_column_values_to_match_regex_list",
          {{"column", "code"}, {"regex_list", {"^AB", "^XY"}}, {"match_on", "any"}})["result"]["unexpected_count"],
      1);
  EXPECT_EQ(One("expect_column_values_to_match_regex_list",
                {{"column", "code"}, {"regex_list", {"^AB", "1$"}}, {"match_on", "all"}})["result"]["unexpected_count"],
            8);  // only AB-1 starts with AB and ends with 1
  EXPECT_EQ(One("expect_column_values_to_not_match_regex_list",
                {{"column", "code"}, {"regex_list", {"^XY", "^ab"}}})["result"]["unexpected_count"],
            2);
  EXPECT_EQ(One("expect_column_values_to_match_like_pattern",
                {{"column", "code"}, {"like_pattern", "AB-%"}})["result"]["unexpected_count"],
            2);
  EXPECT_EQ(One("expect_column_values_to_not_match_like_pattern",
                {{"column", "code"}, {"like_pattern", "AB-1%"}})["result"]["unexpected_count"],
            2);  // AB-1, AB-10
  EXPECT_EQ(One("expect_column_values_to_match_like_pattern_list",
                {{"column", "code"}, {"like_pattern_list", {"AB-%", "XY-%"}}})["result"]["unexpected_count"],
            1);
  EXPECT_EQ(One("expect_column_values_to_not_match_like_pattern_list",
                {{"column", "code"}, {"like_pattern_list", {"XY-%", "ab-%"}}})["result"]["unexpected_count"],
            2);
  // 'not json' and '{"a":' are not JSON.
  EXPECT_EQ(One("expect_column_values_to_be_json_parseable", {{"column", "js"}})["result"]["unexpected_count"], 2);
  EXPECT_TRUE(One("expect_column_values_to_match_strftime_format",
                  {{"column", "created"}, {"strftime_format", "%Y-%m-%d"}})["success"]
                  .get<bool>());
  EXPECT_EQ(One("expect_column_values_to_match_strftime_format",
                {{"column", "created"}, {"strftime_format", "%d/%m/%Y"}})["result"]["unexpected_count"],
            9);
}

TEST_P(ValidatorTest, Multicolumn) {
  // Pairs (a, b): (4,4), (3,5), (7,7) fail a > b; so do (NULL,1) and (2,NULL); row 6's two
  // nulls are skipped (both_values_are_missing).
  json gt = One("expect_column_pair_values_A_to_be_greater_than_B", {{"column_A", "a"}, {"column_B", "b"}});
  EXPECT_EQ(gt["result"]["element_count"], 10);
  EXPECT_EQ(gt["result"]["missing_count"], 1);
  EXPECT_EQ(gt["result"]["unexpected_count"], 5);
  EXPECT_EQ(One("expect_column_pair_values_A_to_be_greater_than_B",
                {{"column_A", "a"}, {"column_B", "b"}, {"or_equal", true}})["result"]["unexpected_count"],
            3);
  EXPECT_EQ(One("expect_column_pair_values_A_to_be_greater_than_B",
                {{"column_A", "a"},
                 {"column_B", "b"},
                 {"ignore_row_if", "either_value_is_missing"}})["result"]["unexpected_count"],
            3);
  EXPECT_EQ(One("expect_column_pair_values_to_be_equal",
                {{"column_A", "a"}, {"column_B", "b"}})["result"]["unexpected_count"],
            7);  // equal only in (4,4) and (7,7)
  // a + b = 8 in rows 1-3 only; nulls count as 0 (9 rows tested).
  EXPECT_EQ(One("expect_multicolumn_sum_to_equal",
                {{"column_list", {"a", "b"}}, {"sum_total", 8}})["result"]["unexpected_count"],
            6);
  EXPECT_EQ(One("expect_select_column_values_to_be_unique_within_record",
                {{"column_list", {"a", "b"}}})["result"]["unexpected_count"],
            2);
}

TEST_P(ValidatorTest, AggregatesHaveObservedValues) {
  auto observed = [&](const std::string& type, json kwargs) {
    json r = One(type, kwargs);
    return r["result"]["observed_value"];
  };
  double mean = 0;
  for (double v : kAmounts) mean += v / 9;
  double var = 0;
  for (double v : kAmounts) var += (v - mean) * (v - mean) / 8;
  const json wide = {{"column", "amount"}, {"min_value", 0}, {"max_value", 1000}};
  EXPECT_NEAR(observed("expect_column_mean_to_be_between", wide).get<double>(), mean, 1e-9);
  EXPECT_NEAR(observed("expect_column_median_to_be_between", wide).get<double>(), 60, 1e-9);
  EXPECT_NEAR(observed("expect_column_stdev_to_be_between", wide).get<double>(), std::sqrt(var), 1e-9);
  EXPECT_NEAR(observed("expect_column_sum_to_be_between", wide).get<double>(), 500, 1e-9);
  EXPECT_NEAR(observed("expect_column_min_to_be_between", wide).get<double>(), 10, 1e-9);
  EXPECT_NEAR(observed("expect_column_max_to_be_between", wide).get<double>(), 100, 1e-9);
  EXPECT_FALSE(
      One("expect_column_mean_to_be_between", {{"column", "amount"}, {"min_value", 56}})["success"].get<bool>());
  EXPECT_TRUE(
      One("expect_column_mean_to_be_between", {{"column", "amount"}, {"min_value", 55}, {"max_value", 56}})["success"]
          .get<bool>());
  EXPECT_EQ(observed("expect_column_min_to_be_between", {{"column", "created"}, {"min_value", "2024-01-01"}}),
            "2024-01-01");
  EXPECT_EQ(observed("expect_column_unique_value_count_to_be_between", {{"column", "name"}, {"min_value", 1}}), 7);
  EXPECT_NEAR(
      observed("expect_column_proportion_of_unique_values_to_be_between", {{"column", "name"}, {"min_value", 0}})
          .get<double>(),
      7.0 / 9, 1e-12);
  json q = One("expect_column_quantile_values_to_be_between",
               {{"column", "amount"}, {"quantile_ranges", {{"quantiles", {0.5}}, {"value_ranges", {{50, 70}}}}}});
  EXPECT_TRUE(q["success"].get<bool>()) << q.dump();
  EXPECT_NEAR(q["result"]["observed_value"]["values"][0].get<double>(), 60, 1e-9);
  json mode = One("expect_column_most_common_value_to_be_in_set", {{"column", "name"}, {"value_set", {"bob"}}});
  EXPECT_TRUE(mode["success"].get<bool>());
  EXPECT_EQ(mode["result"]["observed_value"], json({"bob"}));
  json distinct = One("expect_column_distinct_values_to_be_in_set",
                      {{"column", "status"}, {"value_set", {"paid", "shipped", "cancelled"}}});
  EXPECT_FALSE(distinct["success"].get<bool>());
  EXPECT_EQ(distinct["result"]["observed_value"], json({"cancelled", "paid", "shipped", "weird"}));
  EXPECT_TRUE(
      One("expect_column_distinct_values_to_contain_set", {{"column", "status"}, {"value_set", {"paid"}}})["success"]
          .get<bool>());
  EXPECT_FALSE(
      One("expect_column_distinct_values_to_contain_set", {{"column", "status"}, {"value_set", {"lost"}}})["success"]
          .get<bool>());
  EXPECT_TRUE(One("expect_column_distinct_values_to_equal_set",
                  {{"column", "status"}, {"value_set", {"weird", "paid", "shipped", "cancelled"}}})["success"]
                  .get<bool>());
  EXPECT_TRUE(
      One("expect_column_values_to_be_of_type", {{"column", "id"}, {"type_", "INTEGER"}})["success"].get<bool>());
  EXPECT_TRUE(One("expect_column_values_to_be_in_type_list",
                  {{"column", "name"}, {"type_list", {"VARCHAR", "TEXT"}}})["success"]
                  .get<bool>());
  EXPECT_FALSE(
      One("expect_column_values_to_be_of_type", {{"column", "id"}, {"type_", "VARCHAR"}})["success"].get<bool>());
  EXPECT_TRUE(
      One("expect_column_values_to_be_increasing", {{"column", "id"}, {"strictly", true}})["success"].get<bool>());
  json down = One("expect_column_values_to_be_decreasing", {{"column", "amount"}});
  EXPECT_EQ(down["result"]["unexpected_count"], 8);  // each non-null amount after the first is larger
}

TEST_P(ValidatorTest, TableExpectations) {
  EXPECT_TRUE(
      One("expect_table_row_count_to_be_between", {{"min_value", 5}, {"max_value", 10}})["success"].get<bool>());
  EXPECT_EQ(One("expect_table_row_count_to_equal", {{"value", 10}})["result"]["observed_value"], 10);
  json other = One("expect_table_row_count_to_equal_other_table", {{"other_table_name", schema_ + ".other"}});
  EXPECT_FALSE(other["success"].get<bool>());
  EXPECT_EQ(other["result"]["observed_value"], json::parse(R"({"self": 10, "other": 9})"));
  EXPECT_TRUE(One("expect_table_column_count_to_equal", {{"value", 9}})["success"].get<bool>());
  EXPECT_TRUE(One("expect_table_columns_to_match_ordered_list",
                  {{"column_list", {"id", "name", "amount", "status", "created", "a", "b", "js", "code"}}})["success"]
                  .get<bool>());
  json set = One("expect_table_columns_to_match_set", {{"column_set", {"id", "name", "nope"}}, {"exact_match", false}});
  EXPECT_FALSE(set["success"].get<bool>());
  EXPECT_EQ(set["result"]["details"]["mismatched"]["missing"], json({"nope"}));
  EXPECT_TRUE(One("expect_column_to_exist", {{"column", "code"}, {"column_index", 8}})["success"].get<bool>());
  EXPECT_FALSE(One("expect_column_to_exist", {{"column", "nope"}})["success"].get<bool>());
}

TEST_P(ValidatorTest, RowConditionsParametersFormatsAndEmptyBatches) {
  // Paid rows are 1, 2, 4, 6, 8: row 4 has no name.
  for (const auto& [cond, parser] : std::vector<std::pair<std::string, std::string>>{
           {"status == \"paid\"", "pandas"},
           {"col(\"status\")==\"paid\"", "great_expectations__experimental__"},
           {"status = 'paid'", "sql"}}) {
    json r = One("expect_column_values_to_not_be_null",
                 {{"column", "name"}, {"row_condition", cond}, {"condition_parser", parser}});
    EXPECT_EQ(r["result"]["element_count"], 5) << cond;
    EXPECT_EQ(r["result"]["unexpected_count"], 1) << cond;
  }
  ValidateOptions o;
  o.evaluation_parameters["expected_rows"] = 10;
  json p = Run(json::parse(R"([["expect_table_row_count_to_equal", {"value": {"$PARAMETER": "expected_rows"}}],
                                ["expect_table_row_count_to_equal", {"value": {"$PARAMETER": "expected_rows - 1"}}]])"),
               o);
  EXPECT_TRUE(p["results"][0]["success"].get<bool>());
  EXPECT_FALSE(p["results"][1]["success"].get<bool>());
  EXPECT_EQ(p["evaluation_parameters"]["expected_rows"], 10);
  // Result formats.
  json complete = One("expect_column_values_to_be_in_set", {{"column", "name"}, {"value_set", {"alice"}}}, "COMPLETE");
  EXPECT_EQ(complete["result"]["unexpected_list"].size(), 8u);
  json brief = One("expect_column_values_to_be_in_set", {{"column", "name"}, {"value_set", {"alice"}}}, "BOOLEAN_ONLY");
  EXPECT_EQ(brief["result"], json::object());
  // An empty batch: map expectations pass vacuously, statistics have nothing to observe.
  json empty = Run(json::parse(R"([["expect_column_values_to_not_be_null", {"column": "name"}],
                                    ["expect_column_values_to_be_in_set", {"column": "status", "value_set": []}],
                                    ["expect_column_mean_to_be_between", {"column": "amount", "min_value": 0}]])"),
                   {}, "id > 100");
  EXPECT_TRUE(empty["results"][0]["success"].get<bool>());
  EXPECT_TRUE(empty["results"][1]["success"].get<bool>());
  EXPECT_EQ(empty["results"][1]["result"]["unexpected_percent"], nullptr);
  EXPECT_FALSE(empty["results"][2]["success"].get<bool>());
}

TEST_P(ValidatorTest, OneScanForTheSuiteAndStatistics) {
  json r = Run(json::parse(R"([
      ["expect_column_values_to_not_be_null", {"column": "id"}],
      ["expect_column_values_to_be_between", {"column": "amount", "min_value": 0, "max_value": 100}],
      ["expect_column_values_to_match_regex", {"column": "code", "regex": "^[A-Za-z]{2}-"}],
      ["expect_column_mean_to_be_between", {"column": "amount", "min_value": 0}],
      ["expect_column_values_to_be_in_set", {"column": "status", "value_set": ["paid"]}],
      ["expect_table_row_count_to_be_between", {"min_value": 1}],
      ["expect_column_values_to_not_be_null", {"column": "nope"}]])"));
  // The columns (no rows read), one scan, and the failing in_set's samples.
  EXPECT_EQ(stats_.queries, 3) << r["meta"].dump();
  EXPECT_EQ(r["statistics"]["evaluated_expectations"], 7);
  EXPECT_EQ(r["statistics"]["successful_expectations"], 5);
  EXPECT_EQ(r["statistics"]["unsuccessful_expectations"], 2);
  EXPECT_NEAR(r["statistics"]["success_percent"].get<double>(), 500.0 / 7, 1e-9);
  EXPECT_FALSE(r["success"].get<bool>());
  const json& missing = r["results"][6];
  EXPECT_TRUE(missing["exception_info"]["raised_exception"].get<bool>());
  EXPECT_NE(missing["exception_info"]["exception_message"].get<std::string>().find("'nope' does not exist"),
            std::string::npos);
  EXPECT_EQ(r["results"][4]["expectation_config"]["expectation_type"], "expect_column_values_to_be_in_set");
  EXPECT_EQ(r["meta"]["expectation_suite_name"], "t");
  EXPECT_TRUE(r["meta"].contains("run_id"));
}

TEST_P(ValidatorTest, ABadExpectationFailsAloneAndUncaughtItStops) {
  json r = Run(json::parse(R"([
      ["expect_column_values_to_match_regex", {"column": "code", "regex": "(unclosed"}],
      ["expect_column_values_to_not_be_null", {"column": "id"}]])"));
  EXPECT_TRUE(r["results"][0]["exception_info"]["raised_exception"].get<bool>()) << r.dump();
  EXPECT_TRUE(r["results"][1]["success"].get<bool>()) << r.dump();
  ValidateOptions strict;
  strict.catch_exceptions = false;
  auto suite = ParseSuite(
      R"({"expectation_suite_name": "s", "expectations": [{"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "nope"}}]})",
      "s.json");
  ASSERT_TRUE(suite.ok());
  Batch batch;
  batch.relation = schema_ + ".t";
  auto stopped = Validate(session_.get(), *suite, batch, strict);
  EXPECT_FALSE(stopped.ok());
  EXPECT_NE(stopped.status().message().find("s.json:1:"), std::string::npos) << stopped.status().ToString();
}

// A profiled suite holds on the data it was made from, and says what it saw.
TEST_P(ValidatorTest, AProfileHoldsOnItsData) {
  auto suite = Profile(session_.get(), schema_ + ".t", {});
  ASSERT_TRUE(suite.ok()) << suite.status().ToString();
  EXPECT_EQ(suite->name, "t");
  std::map<std::string, int> types;
  for (const auto& e : suite->expectations) ++types[e.type];
  EXPECT_EQ(types["expect_table_row_count_to_be_between"], 1);
  EXPECT_EQ(types["expect_column_values_to_be_in_type_list"], 9);
  EXPECT_EQ(types["expect_column_values_to_be_unique"], 6);  // id, amount, created, a, js, code: no value twice
  // The suite as a file, loaded back and validated on the same table: everything passes.
  auto again = ParseSuite(SuiteJson(*suite).dump(2), "t.json");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  Batch batch;
  batch.relation = schema_ + ".t";
  auto r = Validate(session_.get(), *again, batch, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)["success"].get<bool>()) << r->dump(1);
  bool status_set = false;
  for (const auto& e : suite->expectations) {
    if (e.type == "expect_column_values_to_be_in_set" && e.kwargs["column"] == "status") {
      status_set = e.kwargs["value_set"] == json({"cancelled", "paid", "shipped", "weird"});
    }
  }
  EXPECT_TRUE(status_set) << SuiteJson(*suite).dump(1);
}

INSTANTIATE_TEST_SUITE_P(Engines, ValidatorTest, ::testing::Values("duckdb", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(Catalog, HasAtLeastFortyOfGesExpectations) {
  EXPECT_GE(ExpectationTypes().size(), 40u);
  EXPECT_EQ(ClosestExpectationType("expect_column_values_to_not_be_nul"), "expect_column_values_to_not_be_null");
}

}  // namespace
}  // namespace strata::quality
