#include "quality/expectations.h"

#include <algorithm>
#include <set>

#include "core/config.h"

namespace strata::quality {

namespace {

using nlohmann::json;

// Kwargs every expectation takes, and those of each kind.
const std::vector<ArgSpec>& CommonArgs() {
  static const std::vector<ArgSpec> kArgs = {{"result_format", ArgType::kObject},   {"include_config", ArgType::kBool},
                                             {"catch_exceptions", ArgType::kBool},  {"meta", ArgType::kObject},
                                             {"batch_id", ArgType::kString},        {"row_condition", ArgType::kString},
                                             {"condition_parser", ArgType::kString}};
  return kArgs;
}

const std::vector<ArgSpec>& KindArgs(Kind kind) {
  static const std::vector<ArgSpec> kTable = {};
  static const std::vector<ArgSpec> kMap = {{"column", ArgType::kString, true}, {"mostly", ArgType::kNumber}};
  static const std::vector<ArgSpec> kAggregate = {{"column", ArgType::kString, true}};
  static const std::vector<ArgSpec> kMulti = {{"mostly", ArgType::kNumber}, {"ignore_row_if", ArgType::kString}};
  switch (kind) {
    case Kind::kTable:
      return kTable;
    case Kind::kColumnMap:
      return kMap;
    case Kind::kColumnAggregate:
      return kAggregate;
    case Kind::kMulticolumnMap:
      return kMulti;
  }
  return kTable;
}

std::vector<ArgSpec> Between(std::vector<ArgSpec> more = {}) {
  std::vector<ArgSpec> a = {{"min_value", ArgType::kScalar},
                            {"max_value", ArgType::kScalar},
                            {"strict_min", ArgType::kBool},
                            {"strict_max", ArgType::kBool}};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

std::vector<ExpectationType> MakeTypes() {
  const ArgSpec dates = {"parse_strings_as_datetimes", ArgType::kBool};
  const ArgSpec out_format = {"output_strftime_format", ArgType::kString};
  const ArgSpec value_set = {"value_set", ArgType::kList, true};
  const ArgSpec match_on = {"match_on", ArgType::kString};
  std::vector<ExpectationType> t = {
      // table
      {"expect_table_row_count_to_be_between", Kind::kTable, Between()},
      {"expect_table_row_count_to_equal", Kind::kTable, {{"value", ArgType::kInteger, true}}},
      {"expect_table_row_count_to_equal_other_table", Kind::kTable, {{"other_table_name", ArgType::kString, true}}},
      {"expect_table_column_count_to_be_between", Kind::kTable, Between()},
      {"expect_table_column_count_to_equal", Kind::kTable, {{"value", ArgType::kInteger, true}}},
      {"expect_table_columns_to_match_set",
       Kind::kTable,
       {{"column_set", ArgType::kStringList, true}, {"exact_match", ArgType::kBool}}},
      {"expect_table_columns_to_match_ordered_list", Kind::kTable, {{"column_list", ArgType::kStringList, true}}},
      {"expect_column_to_exist",
       Kind::kTable,
       {{"column", ArgType::kString, true}, {"column_index", ArgType::kInteger}}},
      // column map
      {"expect_column_values_to_not_be_null", Kind::kColumnMap, {}},
      {"expect_column_values_to_be_null", Kind::kColumnMap, {}},
      {"expect_column_values_to_be_unique", Kind::kColumnMap, {}},
      {"expect_column_values_to_be_in_set", Kind::kColumnMap, {value_set, dates}},
      {"expect_column_values_to_not_be_in_set", Kind::kColumnMap, {value_set, dates}},
      {"expect_column_values_to_be_between", Kind::kColumnMap,
       Between({dates, out_format, {"allow_cross_type_comparisons", ArgType::kBool}})},
      {"expect_column_values_to_be_increasing", Kind::kColumnMap, {{"strictly", ArgType::kBool}, dates}},
      {"expect_column_values_to_be_decreasing", Kind::kColumnMap, {{"strictly", ArgType::kBool}, dates}},
      {"expect_column_value_lengths_to_be_between", Kind::kColumnMap, Between()},
      {"expect_column_value_lengths_to_equal", Kind::kColumnMap, {{"value", ArgType::kInteger, true}}},
      {"expect_column_values_to_match_regex", Kind::kColumnMap, {{"regex", ArgType::kString, true}}},
      {"expect_column_values_to_not_match_regex", Kind::kColumnMap, {{"regex", ArgType::kString, true}}},
      {"expect_column_values_to_match_regex_list",
       Kind::kColumnMap,
       {{"regex_list", ArgType::kStringList, true}, match_on}},
      {"expect_column_values_to_not_match_regex_list", Kind::kColumnMap, {{"regex_list", ArgType::kStringList, true}}},
      {"expect_column_values_to_match_like_pattern", Kind::kColumnMap, {{"like_pattern", ArgType::kString, true}}},
      {"expect_column_values_to_not_match_like_pattern", Kind::kColumnMap, {{"like_pattern", ArgType::kString, true}}},
      {"expect_column_values_to_match_like_pattern_list",
       Kind::kColumnMap,
       {{"like_pattern_list", ArgType::kStringList, true}, match_on}},
      {"expect_column_values_to_not_match_like_pattern_list",
       Kind::kColumnMap,
       {{"like_pattern_list", ArgType::kStringList, true}}},
      {"expect_column_values_to_match_strftime_format",
       Kind::kColumnMap,
       {{"strftime_format", ArgType::kString, true}}},
      {"expect_column_values_to_be_json_parseable", Kind::kColumnMap, {}},
      // column aggregate
      {"expect_column_values_to_be_of_type", Kind::kColumnAggregate, {{"type_", ArgType::kString, true}}},
      {"expect_column_values_to_be_in_type_list", Kind::kColumnAggregate, {{"type_list", ArgType::kStringList, true}}},
      {"expect_column_distinct_values_to_be_in_set", Kind::kColumnAggregate, {value_set, dates}},
      {"expect_column_distinct_values_to_contain_set", Kind::kColumnAggregate, {value_set, dates}},
      {"expect_column_distinct_values_to_equal_set", Kind::kColumnAggregate, {value_set, dates}},
      {"expect_column_mean_to_be_between", Kind::kColumnAggregate, Between()},
      {"expect_column_median_to_be_between", Kind::kColumnAggregate, Between()},
      {"expect_column_quantile_values_to_be_between",
       Kind::kColumnAggregate,
       {{"quantile_ranges", ArgType::kObject, true}, {"allow_relative_error", ArgType::kScalar}}},
      {"expect_column_stdev_to_be_between", Kind::kColumnAggregate, Between()},
      {"expect_column_sum_to_be_between", Kind::kColumnAggregate, Between()},
      {"expect_column_min_to_be_between", Kind::kColumnAggregate, Between({dates, out_format})},
      {"expect_column_max_to_be_between", Kind::kColumnAggregate, Between({dates, out_format})},
      {"expect_column_unique_value_count_to_be_between", Kind::kColumnAggregate, Between()},
      {"expect_column_proportion_of_unique_values_to_be_between", Kind::kColumnAggregate, Between()},
      {"expect_column_most_common_value_to_be_in_set",
       Kind::kColumnAggregate,
       {value_set, {"ties_okay", ArgType::kBool}}},
      // multicolumn map
      {"expect_column_pair_values_A_to_be_greater_than_B",
       Kind::kMulticolumnMap,
       {{"column_A", ArgType::kString, true},
        {"column_B", ArgType::kString, true},
        {"or_equal", ArgType::kBool},
        dates,
        {"allow_cross_type_comparisons", ArgType::kBool}}},
      {"expect_column_pair_values_to_be_equal",
       Kind::kMulticolumnMap,
       {{"column_A", ArgType::kString, true}, {"column_B", ArgType::kString, true}}},
      {"expect_compound_columns_to_be_unique", Kind::kMulticolumnMap, {{"column_list", ArgType::kStringList, true}}},
      {"expect_select_column_values_to_be_unique_within_record",
       Kind::kMulticolumnMap,
       {{"column_list", ArgType::kStringList, true}}},
      {"expect_multicolumn_sum_to_equal",
       Kind::kMulticolumnMap,
       {{"column_list", ArgType::kStringList, true}, {"sum_total", ArgType::kNumber, true}}},
  };
  std::sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return std::string_view(a.name) < b.name; });
  return t;
}

bool IsParameter(const json& v) { return v.is_object() && v.size() == 1 && v.contains("$PARAMETER"); }

bool IsScalar(const json& v) { return v.is_string() || v.is_number() || v.is_boolean() || v.is_null(); }

const char* TypeWord(ArgType t) {
  switch (t) {
    case ArgType::kString:
      return "a string";
    case ArgType::kNumber:
      return "a number";
    case ArgType::kInteger:
      return "a whole number";
    case ArgType::kBool:
      return "true or false";
    case ArgType::kScalar:
      return "a number, a string or null";
    case ArgType::kList:
      return "a list of values";
    case ArgType::kStringList:
      return "a list of strings";
    case ArgType::kObject:
      return "an object";
  }
  return "?";
}

bool HasType(const json& v, ArgType t) {
  switch (t) {
    case ArgType::kString:
      return v.is_string();
    case ArgType::kNumber:
      return v.is_number();
    case ArgType::kInteger:
      return v.is_number_integer() || (v.is_number_float() && v.get<double>() == static_cast<int64_t>(v.get<double>()));
    case ArgType::kBool:
      return v.is_boolean();
    case ArgType::kScalar:
      return IsScalar(v);
    case ArgType::kList:
      return v.is_array() && std::all_of(v.begin(), v.end(), IsScalar);
    case ArgType::kStringList:
      return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_string(); });
    case ArgType::kObject:
      return v.is_object();
  }
  return false;
}

}  // namespace

const std::vector<ExpectationType>& ExpectationTypes() {
  static const std::vector<ExpectationType> kTypes = MakeTypes();
  return kTypes;
}

const ExpectationType* FindExpectationType(std::string_view name) {
  const auto& types = ExpectationTypes();
  auto it = std::lower_bound(types.begin(), types.end(), name,
                             [](const ExpectationType& t, std::string_view n) { return std::string_view(t.name) < n; });
  return it != types.end() && it->name == name ? &*it : nullptr;
}

std::string ClosestExpectationType(std::string_view name) {
  std::string best;
  size_t best_distance = std::max<size_t>(4, name.size() / 4) + 1;
  for (const auto& t : ExpectationTypes()) {
    const size_t d = EditDistance(std::string(name), t.name);
    if (d < best_distance) {
      best_distance = d;
      best = t.name;
    }
  }
  return best;
}

Status CheckKwargs(const ExpectationType& type, const json& kwargs) {
  if (!kwargs.is_object()) return Status::InvalidArgument("kwargs is not an object");
  std::vector<const ArgSpec*> specs;
  for (const auto* list : {&CommonArgs(), &KindArgs(type.kind), &type.args}) {
    for (const auto& a : *list) specs.push_back(&a);
  }
  auto find = [&](const std::string& name) -> const ArgSpec* {
    for (const ArgSpec* a : specs) {
      if (name == a->name) return a;
    }
    return nullptr;
  };
  for (const auto& [name, value] : kwargs.items()) {
    const ArgSpec* a = find(name);
    if (a == nullptr) {
      std::string known;
      for (const ArgSpec* s : specs) known += std::string(known.empty() ? "" : ", ") + s->name;
      return Status::InvalidArgument("unknown kwarg '" + name + "' (" + type.name + " takes " + known + ")");
    }
    if (IsParameter(value)) continue;
    if (name == "result_format") {
      static const std::set<std::string> kFormats = {"BOOLEAN_ONLY", "BASIC", "SUMMARY", "COMPLETE"};
      const json f = value.is_object() ? value.value("result_format", json("BASIC")) : value;
      if (!f.is_string() || !kFormats.contains(f.get<std::string>())) {
        return Status::InvalidArgument(
            "result_format is BOOLEAN_ONLY, BASIC, SUMMARY or COMPLETE, or {\"result_format\": ..., "
            "\"partial_unexpected_count\": n}, not " +
            value.dump());
      }
      continue;
    }
    if (!HasType(value, a->type)) {
      return Status::InvalidArgument("kwarg '" + name + "' must be " + TypeWord(a->type) + ", not " + value.dump());
    }
  }
  for (const ArgSpec* a : specs) {
    if (a->required && (!kwargs.contains(a->name) || (kwargs[a->name].is_null() && a->type != ArgType::kScalar))) {
      return Status::InvalidArgument(std::string(type.name) + " needs kwarg '" + a->name + "'");
    }
  }
  auto given = [&](const char* k) { return kwargs.contains(k) && !kwargs[k].is_null(); };
  if (find("min_value") != nullptr && !given("min_value") && !given("max_value")) {
    return Status::InvalidArgument("min_value and max_value cannot both be null");
  }
  if (given("mostly") && !IsParameter(kwargs["mostly"])) {
    const double m = kwargs["mostly"].get<double>();
    if (m < 0 || m > 1)
      return Status::InvalidArgument("mostly must be between 0 and 1, not " + kwargs["mostly"].dump());
  }
  if (given("match_on") && kwargs["match_on"] != "any" && kwargs["match_on"] != "all") {
    return Status::InvalidArgument("match_on is \"any\" or \"all\", not " + kwargs["match_on"].dump());
  }
  if (given("condition_parser")) {
    const std::string p = kwargs["condition_parser"];
    if (p != "great_expectations__experimental__" && p != "pandas" && p != "sql") {
      return Status::InvalidArgument("condition_parser is great_expectations__experimental__, pandas or sql, not '" +
                                     p + "'" + (p == "spark" ? " (Spark conditions need Spark)" : ""));
    }
  }
  if (given("row_condition") && !given("condition_parser")) {
    return Status::InvalidArgument(
        "row_condition needs a condition_parser (great_expectations__experimental__, "
        "pandas or sql)");
  }
  if (given("ignore_row_if")) {
    const std::string v = kwargs["ignore_row_if"];
    const bool pair = find("column_A") != nullptr;
    const std::set<std::string> allowed =
        pair ? std::set<std::string>{"both_values_are_missing", "either_value_is_missing", "neither"}
             : std::set<std::string>{"all_values_are_missing", "any_value_is_missing", "never"};
    if (!allowed.contains(v)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return Status::InvalidArgument("ignore_row_if is one of " + list + ", not '" + v + "'");
    }
  }
  if (given("column_list") && !IsParameter(kwargs["column_list"]) && kwargs["column_list"].empty()) {
    return Status::InvalidArgument("column_list is empty");
  }
  if (given("quantile_ranges") && !IsParameter(kwargs["quantile_ranges"])) {
    const json& q = kwargs["quantile_ranges"];
    const json qs = q.value("quantiles", json());
    const json rs = q.value("value_ranges", json());
    if (!qs.is_array() || !rs.is_array() || qs.size() != rs.size() || qs.empty()) {
      return Status::InvalidArgument(
          "quantile_ranges is {\"quantiles\": [q, ...], \"value_ranges\": [[min, max], ...]} with one range per "
          "quantile");
    }
    for (size_t i = 0; i < qs.size(); ++i) {
      if (!qs[i].is_number() || qs[i].get<double>() < 0 || qs[i].get<double>() > 1) {
        return Status::InvalidArgument("quantile_ranges.quantiles[" + std::to_string(i) +
                                       "] is not a number from 0 to 1");
      }
      if (!rs[i].is_array() || rs[i].size() != 2 || !IsScalar(rs[i][0]) || !IsScalar(rs[i][1])) {
        return Status::InvalidArgument("quantile_ranges.value_ranges[" + std::to_string(i) + "] is not [min, max]");
      }
    }
  }
  return Status::OK();
}

}  // namespace strata::quality
