// Suites as Great Expectations 0.18 writes them load unchanged; mistakes are errors naming the
// file, line and column of the expectation.
#include "quality/suite.h"

#include <gtest/gtest.h>

namespace strata::quality {
namespace {

using nlohmann::json;

// Written here in the shape GE 0.18's `suite.save_expectation_suite()` produces: nulls for
// data_asset_type and ge_cloud_id, citations and notes in meta, an evaluation parameter.
const char* kGeSuite = R"({
  "data_asset_type": null,
  "expectation_suite_name": "orders.critical",
  "expectations": [
    {
      "expectation_type": "expect_table_row_count_to_be_between",
      "kwargs": {
        "max_value": {"$PARAMETER": "source_rows * 1.01"},
        "min_value": {"$PARAMETER": "source_rows"}
      },
      "meta": {"notes": {"format": "markdown", "content": ["Row count matches the **source** system."]}}
    },
    {
      "expectation_type": "expect_column_values_to_be_in_set",
      "kwargs": {"column": "status", "mostly": 0.99, "value_set": ["placed", "shipped", "delivered", "cancelled"]},
      "meta": {"severity": "warn"}
    },
    {
      "expectation_type": "expect_column_values_to_not_be_null",
      "kwargs": {"column": "order_id", "result_format": {"result_format": "SUMMARY", "partial_unexpected_count": 5}},
      "meta": {}
    }
  ],
  "ge_cloud_id": null,
  "meta": {
    "citations": [{"citation_date": "2024-01-01T00:00:00.000000Z", "comment": "Created by the profiler"}],
    "great_expectations_version": "0.18.8"
  }
})";

TEST(Suite, LoadsWhatGreatExpectationsWrites) {
  auto s = ParseSuite(kGeSuite, "orders.critical.json");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "orders.critical");
  ASSERT_EQ(s->expectations.size(), 3u);
  EXPECT_EQ(s->expectations[0].where, "orders.critical.json:5:5");
  EXPECT_EQ(s->expectations[1].where, "orders.critical.json:13:5");
  EXPECT_EQ(s->expectations[1].severity, Severity::kWarn);
  EXPECT_EQ(s->expectations[2].severity, Severity::kError);
  EXPECT_EQ(s->expectations[0].kwargs["min_value"]["$PARAMETER"], "source_rows");
  // Written back, it is the same suite.
  json again = SuiteJson(*s);
  EXPECT_EQ(again, json::parse(kGeSuite));
}

TEST(Suite, MistakesNameTheirPlace) {
  struct Case {
    std::string text;
    std::string says;
  };
  const std::string head = "{\"expectation_suite_name\": \"s\",\n \"expectations\": [\n  ";
  const std::vector<Case> cases = {
      {"{\"expectation_suite_name\": \"s\",\n \"expectations\": [}", "s.json:2:19: not valid JSON"},
      {"[]", "s.json:1:1: an expectation suite is a JSON object"},
      {"{\"expectations\": []}", "needs \"expectation_suite_name\""},
      {head + R"({"expectation_type": "expect_column_values_to_not_be_nul", "kwargs": {"column": "a"}}]})",
       "s.json:3:3: expectation 1: unknown expectation type 'expect_column_values_to_not_be_nul' (did you mean "
       "expect_column_values_to_not_be_null?)"},
      {head + R"({"expectation_type": "expect_column_values_to_be_between", "kwargs": {"column": "a"}}]})",
       "min_value and max_value cannot both be null"},
      {head + R"({"expectation_type": "expect_column_values_to_be_in_set", "kwargs": {"column": "a"}}]})",
       "needs kwarg 'value_set'"},
      {head +
           R"({"expectation_type": "expect_column_values_to_be_in_set", "kwargs": {"column": "a", "value_set": "x"}}]})",
       "kwarg 'value_set' must be a list of values"},
      {head +
           R"({"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a", "colour": 1}}]})",
       "unknown kwarg 'colour'"},
      {head +
           R"({"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a", "mostly": 2}}]})",
       "mostly must be between 0 and 1"},
      {head +
           R"({"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a", "result_format": "ALL"}}]})",
       "result_format is BOOLEAN_ONLY, BASIC, SUMMARY or COMPLETE"},
      {head +
           R"({"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a", "row_condition": "a > 1", "condition_parser": "spark"}}]})",
       "Spark conditions need Spark"},
      {head +
           R"({"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}, "meta": {"severity": "fatal"}}]})",
       "meta.severity is \"error\" or \"warn\""},
      {head + R"({"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}},
    {"kwargs": {}}]})",
       "s.json:4:5: expectation 2: needs \"expectation_type\""},
  };
  for (const auto& c : cases) {
    auto s = ParseSuite(c.text, "s.json");
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.status().message().find(c.says), std::string::npos) << s.status().message();
  }
}

}  // namespace
}  // namespace strata::quality
