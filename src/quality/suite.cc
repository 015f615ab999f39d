#include "quality/suite.h"

#include "core/file.h"
#include "core/strings.h"
#include "quality/expectations.h"

namespace strata::quality {

namespace {

using nlohmann::json;

// The byte offsets where the elements of the top-level "expectations" array start: JSON has
// no positions once parsed, so the text is scanned for them (it has parsed already, so it is
// well formed).
std::vector<size_t> ExpectationOffsets(std::string_view t) {
  std::vector<size_t> out;
  int depth = 0;
  bool in_expectations = false;  // inside the array at depth 2
  std::string last_key;          // the latest string at depth 1, followed by ':'
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '"') {
      const size_t start = i + 1;
      for (++i; i < t.size() && t[i] != '"'; ++i) {
        if (t[i] == '\\') ++i;
      }
      if (depth == 1) {
        size_t j = i + 1;
        while (j < t.size() && (t[j] == ' ' || t[j] == '\n' || t[j] == '\r' || t[j] == '\t')) ++j;
        if (j < t.size() && t[j] == ':') last_key = std::string(t.substr(start, i - start));
      }
      if (in_expectations && depth == 2) out.push_back(start - 1);
      continue;
    }
    if (c == '{' || c == '[') {
      if (in_expectations && depth == 2) out.push_back(i);
      ++depth;
      if (depth == 2 && c == '[' && last_key == "expectations") in_expectations = true;
    } else if (c == '}' || c == ']') {
      --depth;
      if (depth == 1) in_expectations = false;
    } else if (in_expectations && depth == 2 && c != ',' && c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      // A scalar element (an error below): record where it starts, then skip it.
      out.push_back(i);
      while (i + 1 < t.size() && t[i + 1] != ',' && t[i + 1] != ']') ++i;
    }
  }
  return out;
}

}  // namespace

std::string PositionOf(std::string_view text, size_t offset, const std::string& file) {
  const auto [line, col] = LineColumn(text, offset);
  return file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

json Expectation::Config() const { return {{"expectation_type", type}, {"kwargs", kwargs}, {"meta", meta}}; }

Result<Suite> ParseSuite(std::string_view text, const std::string& file) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (size_t p = what.find("syntax error"); p != std::string::npos) what = what.substr(p);
    return Status::InvalidArgument(PositionOf(text, e.byte > 0 ? e.byte - 1 : 0, file) + ": not valid JSON: " + what);
  }
  auto at_start = [&](const std::string& message) {
    return Status::InvalidArgument(PositionOf(text, 0, file) + ": " + message);
  };
  if (!doc.is_object()) return at_start("an expectation suite is a JSON object");
  Suite s;
  s.file = file;
  if (!doc.contains("expectation_suite_name") || !doc["expectation_suite_name"].is_string() ||
      doc["expectation_suite_name"].get<std::string>().empty()) {
    return at_start("the suite needs \"expectation_suite_name\" (a string)");
  }
  s.name = doc["expectation_suite_name"];
  if (doc.contains("meta")) {
    if (!doc["meta"].is_object()) return at_start("\"meta\" is not an object");
    s.meta = doc["meta"];
  }
  const json list = doc.value("expectations", json::array());
  if (!list.is_array()) return at_start("\"expectations\" is not a list");
  const std::vector<size_t> offsets = ExpectationOffsets(text);
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = PositionOf(text, i < offsets.size() ? offsets[i] : 0, file);
    auto bad = [&](const std::string& message) {
      return Status::InvalidArgument(where + ": expectation " + std::to_string(i + 1) + ": " + message);
    };
    const json& e = list[i];
    if (!e.is_object()) return bad("not an object with expectation_type and kwargs");
    if (!e.contains("expectation_type") || !e["expectation_type"].is_string()) {
      return bad("needs \"expectation_type\" (a string)");
    }
    Expectation x;
    x.type = e["expectation_type"];
    x.where = where;
    x.kwargs = e.value("kwargs", json::object());
    if (e.contains("meta")) {
      if (!e["meta"].is_object()) return bad("\"meta\" is not an object");
      x.meta = e["meta"];
    }
    for (const auto& [k, v] : e.items()) {
      if (k != "expectation_type" && k != "kwargs" && k != "meta" && k != "ge_cloud_id" && k != "id" &&
          k != "rendered_content" && k != "expectation_context") {
        return bad("unknown key \"" + k + "\" (an expectation has expectation_type, kwargs and meta)");
      }
    }
    const ExpectationType* type = FindExpectationType(x.type);
    if (type == nullptr) {
      const std::string close = ClosestExpectationType(x.type);
      return bad("unknown expectation type '" + x.type + "'" +
                 (close.empty() ? " (strata quality types lists those it runs)" : " (did you mean " + close + "?)"));
    }
    Status ok = CheckKwargs(*type, x.kwargs);
    if (!ok.ok()) return bad(x.type + ": " + ok.message());
    if (x.meta.contains("severity")) {
      const json& sev = x.meta["severity"];
      if (sev == "warn" || sev == "warning") {
        x.severity = Severity::kWarn;
      } else if (sev != "error") {
        return bad("meta.severity is \"error\" or \"warn\", not " + sev.dump());
      }
    }
    s.expectations.push_back(std::move(x));
  }
  return s;
}

Result<Suite> LoadSuite(const std::string& path) {
  STRATA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseSuite(text, path);
}

json SuiteJson(const Suite& suite) {
  json list = json::array();
  for (const auto& e : suite.expectations) list.push_back(e.Config());
  json meta = suite.meta;
  if (!meta.contains("great_expectations_version")) meta["great_expectations_version"] = "0.18.12";
  return {{"data_asset_type", nullptr},
          {"expectation_suite_name", suite.name},
          {"expectations", list},
          {"ge_cloud_id", nullptr},
          {"meta", meta}};
}

}  // namespace strata::quality
