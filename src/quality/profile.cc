#include "quality/profile.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/date.h"
#include "db/cell_json.h"
#include "db/duckdb.h"
#include "quality/validator.h"
#include "warehouse/session.h"

namespace strata::quality {

namespace {

using nlohmann::json;

enum class Shape { kNumber, kTime, kText, kBool, kOther };

Shape ShapeOf(const std::string& type) {
  if (sql::IsNumericType(type)) return Shape::kNumber;
  if (type.rfind("DATE", 0) == 0 || type.rfind("TIMESTAMP", 0) == 0 || type.rfind("TIME", 0) == 0) return Shape::kTime;
  if (type.rfind("VARCHAR", 0) == 0 || type == "TEXT" || type.rfind("CHAR", 0) == 0 || type == "BPCHAR") {
    return Shape::kText;
  }
  if (type == "BOOLEAN") return Shape::kBool;
  return Shape::kOther;
}

Expectation Make(const std::string& type, json kwargs) {
  Expectation e;
  e.type = type;
  e.kwargs = std::move(kwargs);
  return e;
}

int64_t Int(const json& v) { return v.is_number() ? v.get<int64_t>() : 0; }

}  // namespace

Result<Suite> Profile(warehouse::Session* session, const std::string& relation, const ProfileOptions& options) {
  const std::string rel = QuoteRelation(relation);
  STRATA_ASSIGN_OR_RETURN(auto shape, session->Query("SELECT * FROM " + rel + " LIMIT 0"));
  const bool pg = session->engine() == "postgres";
  // One scan: the row count, then per column its non-null and distinct counts and its range
  // (of values, or of lengths for text).
  std::string sql = "SELECT count(*)";
  for (size_t i = 0; i < shape.columns.size(); ++i) {
    const std::string c = duck::QuoteIdent(shape.columns[i]);
    const Shape s = ShapeOf(shape.column_types[i]);
    sql += ", count(" + c + "), count(DISTINCT " + c + ")";
    if (s == Shape::kNumber || s == Shape::kTime) {
      sql += ", min(" + c + "), max(" + c + ")";
    } else if (s == Shape::kText) {
      const std::string text = "CAST(" + c + (pg ? " AS TEXT)" : " AS VARCHAR)");
      sql += ", min(length(" + text + ")), max(length(" + text + "))";
    } else {
      sql += ", NULL, NULL";
    }
  }
  STRATA_ASSIGN_OR_RETURN(auto scan, session->Query(sql + " FROM " + rel));
  if (scan.rows.size() != 1) return Status::Internal("the profile scan returned no row");
  auto value = [&](size_t i) { return sql::CellJson(scan.rows[0][i], scan.column_types[i]); };
  const int64_t rows = Int(value(0));

  Suite suite;
  suite.name = options.suite_name;
  if (suite.name.empty()) {
    suite.name = relation;
    if (size_t dot = suite.name.rfind('.'); dot != std::string::npos) suite.name = suite.name.substr(dot + 1);
  }
  const std::string today = Date::TodayUtc().ToString();
  const std::string note = "Profiled by `strata quality profile` from " + std::to_string(rows) + " rows of " +
                           relation + " on " + today +
                           ": what held then. Review each expectation before relying on it.";
  suite.meta = {{"great_expectations_version", "0.18.12"},
                {"notes", {{"format", "markdown"}, {"content", json::array({note})}}}};
  suite.expectations.push_back(Make("expect_table_row_count_to_be_between",
                                    {{"min_value", rows / 2}, {"max_value", std::max<int64_t>(rows * 2, 1)}}));
  suite.expectations.push_back(Make("expect_table_columns_to_match_ordered_list", {{"column_list", shape.columns}}));
  for (size_t i = 0; i < shape.columns.size(); ++i) {
    const std::string& name = shape.columns[i];
    std::string type = shape.column_types[i];
    if (size_t p = type.find('('); p != std::string::npos) type = type.substr(0, p);
    const Shape s = ShapeOf(shape.column_types[i]);
    const size_t at = 1 + i * 4;
    const int64_t nonnull = Int(value(at)), distinct = Int(value(at + 1));
    suite.expectations.push_back(
        Make("expect_column_values_to_be_in_type_list", {{"column", name}, {"type_list", {type}}}));
    if (rows > 0 && nonnull == rows) {
      suite.expectations.push_back(Make("expect_column_values_to_not_be_null", {{"column", name}}));
    } else if (nonnull > 0) {
      const double share = std::floor(100.0 * static_cast<double>(nonnull) / static_cast<double>(rows)) / 100.0;
      if (share > 0) {
        suite.expectations.push_back(
            Make("expect_column_values_to_not_be_null", {{"column", name}, {"mostly", share}}));
      }
    }
    if (nonnull == 0) continue;
    if (distinct == nonnull && nonnull > 1 && s != Shape::kBool) {
      suite.expectations.push_back(Make("expect_column_values_to_be_unique", {{"column", name}}));
    }
    if (s == Shape::kNumber || s == Shape::kTime) {
      suite.expectations.push_back(
          Make("expect_column_values_to_be_between",
               {{"column", name}, {"min_value", value(at + 2)}, {"max_value", value(at + 3)}}));
    } else if (s == Shape::kText) {
      suite.expectations.push_back(
          Make("expect_column_value_lengths_to_be_between",
               {{"column", name}, {"min_value", value(at + 2)}, {"max_value", value(at + 3)}}));
    }
    if (distinct <= options.max_set && distinct < nonnull && s != Shape::kOther) {
      STRATA_ASSIGN_OR_RETURN(auto set, session->Query("SELECT DISTINCT " + duck::QuoteIdent(name) + " FROM " + rel +
                                                       " WHERE " + duck::QuoteIdent(name) + " IS NOT NULL ORDER BY 1"));
      json values = json::array();
      for (const auto& row : set.rows) values.push_back(sql::CellJson(row[0], set.column_types[0]));
      suite.expectations.push_back(
          Make("expect_column_values_to_be_in_set", {{"column", name}, {"value_set", values}}));
    }
  }
  return suite;
}

}  // namespace strata::quality
