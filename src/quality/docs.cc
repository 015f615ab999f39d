#include "quality/docs.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/hash.h"
#include "core/strings.h"

namespace strata::quality {

namespace {

using nlohmann::json;

constexpr size_t kPerPage = 100;

std::string Esc(const std::string& s) { return HtmlEscape(s); }

std::string Text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string Pct(const json& v) {
  if (!v.is_number()) return "&ndash;";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %%", v.get<double>());
  return buf;
}

constexpr const char* kStyle = R"(<style>
:root{color-scheme:light dark;--bg:#f7f7f8;--fg:#18181b;--muted:#6b7280;--card:#fff;--line:#e5e7eb;--ok:#15803d;--bad:#b91c1c;--warn:#b45309}
@media (prefers-color-scheme:dark){:root{--bg:#111113;--fg:#ececef;--muted:#9ca3af;--card:#1b1b1f;--line:#2e2e33;--ok:#4ade80;--bad:#f87171;--warn:#fbbf24}}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
header{padding:14px 28px;border-bottom:1px solid var(--line);background:var(--card)}header a{color:inherit;text-decoration:none;font-weight:650}
main{max-width:1200px;margin:0 auto;padding:20px 28px 48px}h1{font-size:21px;margin:4px 0 6px}h2{font-size:16px;margin:26px 0 8px}
.muted{color:var(--muted)}table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden}
th.num{text-align:right}th,td{padding:7px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em}
td.num{text-align:right;font-variant-numeric:tabular-nums}a{color:#4f46e5}
.ok{color:var(--ok);font-weight:600}.bad{color:var(--bad);font-weight:600}.warn{color:var(--warn);font-weight:600}
code,pre{font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace}pre{white-space:pre-wrap;margin:0;max-height:180px;overflow:auto}
.fv{white-space:nowrap}.pager{margin:14px 0;display:flex;gap:10px}.kpis{display:flex;gap:14px;flex-wrap:wrap;margin:10px 0}.kpi{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:140px}
.kpi b{display:block;font-size:20px}
</style>)";

std::string Page(const std::string& title, const std::string& root, const std::string& body) {
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width,initial-scale=1\"><link rel=\"icon\" href=\"data:,\"><title>" +
         Esc(title) + " · Strata data docs</title>" + kStyle + "</head><body><header><a href=\"" + root +
         "index.html\">Strata data docs</a></header><main>" + body + "</main></body></html>\n";
}

std::string SuitePage(const std::string& suite) {
  std::string s = suite;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  return "suites/" + s + ".html";
}

// What the catalog keeps of one validation result.
json EntryOf(const json& v, const std::string& file) {
  const json& meta = v["meta"];
  const json& stats = v["statistics"];
  const auto [blocking, warn] = Failures(v);
  return {{"id", Sha256::Of(file).substr(0, 16)},
          {"file", file},
          {"suite", meta.value("expectation_suite_name", "")},
          {"asset", meta.value("active_batch_definition", json::object()).value("data_asset_name", "")},
          {"run_name", meta.value("run_id", json::object()).value("run_name", "")},
          {"run_time", meta.value("run_id", json::object()).value("run_time", "")},
          {"checkpoint", meta.value("checkpoint_name", "")},
          {"success", v.value("success", false)},
          {"evaluated", stats.value("evaluated_expectations", 0)},
          {"successful", stats.value("successful_expectations", 0)},
          {"success_percent", stats.value("success_percent", json())},
          {"warnings", warn},
          {"blocking", blocking}};
}

std::string StatusHtml(bool success, int warnings) {
  if (!success) return "<span class=\"bad\">failed</span>";
  return warnings ? "<span class=\"warn\">passed with warnings</span>" : "<span class=\"ok\">passed</span>";
}

std::string ValidationHtml(const json& v, const json& entry) {
  std::string b = "<p class=\"muted\"><a href=\"../index.html\">All validations</a></p>";
  b += "<h1>" + Esc(entry["suite"].get<std::string>()) + " on " + Esc(entry["asset"].get<std::string>()) + "</h1>";
  b +=
      "<p class=\"muted\">Run " + Esc(entry["run_name"].get<std::string>()) + " at " +
      Esc(entry["run_time"].get<std::string>()) +
      (entry["checkpoint"].get<std::string>().empty() ? ""
                                                      : ", checkpoint " + Esc(entry["checkpoint"].get<std::string>())) +
      " · <a href=\"../" + SuitePage(entry["suite"]) + "\">the suite</a></p>";
  b += "<div class=\"kpis\"><div class=\"kpi\">Result<b>" + StatusHtml(entry["blocking"] == 0, entry["warnings"]) +
       "</b></div><div class=\"kpi\">Expectations passed<b>" + std::to_string(entry["successful"].get<int>()) + " / " +
       std::to_string(entry["evaluated"].get<int>()) + "</b></div><div class=\"kpi\">Success<b>" +
       Pct(entry["success_percent"]) + "</b></div></div>";
  b += "<table><tr><th>Status</th><th>Expectation</th><th>Observed</th><th>Failing values</th></tr>";
  // Failures first: that is what the reader came for.
  std::vector<const json*> rows;
  for (const auto& r : v["results"]) rows.push_back(&r);
  std::stable_sort(rows.begin(), rows.end(), [](const json* a, const json* b) {
    return !(*a)["success"].get<bool>() && (*b)["success"].get<bool>();
  });
  for (const json* rp : rows) {
    const json& r = *rp;
    const json& config = r["expectation_config"];
    const std::string sev = config["meta"].value("severity", std::string("error"));
    const bool raised = r["exception_info"].value("raised_exception", false);
    std::string status = r["success"].get<bool>() ? "<span class=\"ok\">passed</span>"
                         : raised                 ? "<span class=\"bad\">error</span>"
                         : sev == "warn"          ? "<span class=\"warn\">warning</span>"
                                                  : "<span class=\"bad\">failed</span>";
    json kwargs = config["kwargs"];
    std::string what =
        "<code>" + Esc(config["expectation_type"].get<std::string>()) + "</code><pre>" + Esc(kwargs.dump()) + "</pre>";
    const json notes = config["meta"].value("notes", json());
    if (notes.is_object() && notes.contains("content")) {
      for (const auto& n : notes["content"]) what += "<div class=\"muted\">" + Esc(Text(n)) + "</div>";
    } else if (notes.is_string()) {
      what += "<div class=\"muted\">" + Esc(notes.get<std::string>()) + "</div>";
    }
    const json& res = r["result"];
    std::string observed;
    if (raised) observed = Esc(r["exception_info"].value("exception_message", std::string()));
    if (res.contains("observed_value")) observed = "<pre>" + Esc(Text(res["observed_value"])) + "</pre>";
    if (res.contains("unexpected_count")) {
      observed =
          Esc(Text(res["unexpected_count"])) + " unexpected of " + Esc(Text(res["element_count"])) +
          (res.value("unexpected_percent", json()).is_number() ? " (" + Pct(res["unexpected_percent"]) + ")" : "");
      if (res.contains("missing_count"))
        observed += "<div class=\"muted\">" + Esc(Text(res["missing_count"])) + " missing</div>";
    }
    std::string failing;
    if (res.contains("partial_unexpected_counts") && !res["partial_unexpected_counts"].empty()) {
      for (const auto& c : res["partial_unexpected_counts"]) {
        failing += "<span class=\"fv\">" + Esc(Text(c["value"])) + " <span class=\"muted\">&times;" +
                   Esc(Text(c["count"])) + "</span></span><br>";
      }
    } else if (res.contains("partial_unexpected_list") && !res["partial_unexpected_list"].empty()) {
      failing = "<pre>" + Esc(res["partial_unexpected_list"].dump()) + "</pre>";
    }
    b += "<tr><td>" + status + "</td><td>" + what + "</td><td>" + observed + "</td><td>" + failing + "</td></tr>";
  }
  b += "</table>";
  return Page(entry["suite"].get<std::string>() + " on " + entry["asset"].get<std::string>(), "../", b);
}

std::string SuiteHtml(const std::string& name, const json& expectations, const std::vector<json>& runs) {
  std::string b =
      "<p class=\"muted\"><a href=\"../index.html\">All validations</a></p><h1>Suite " + Esc(name) + "</h1>";
  b += "<table><tr><th>#</th><th>Expectation</th><th>Kwargs</th><th>Severity</th><th>Notes</th></tr>";
  int i = 0;
  for (const auto& e : expectations) {
    const json meta = e.value("meta", json::object());
    std::string notes;
    const json n = meta.value("notes", json());
    if (n.is_object() && n.contains("content")) {
      for (const auto& line : n["content"]) notes += Esc(Text(line)) + "<br>";
    } else if (n.is_string()) {
      notes = Esc(n.get<std::string>());
    }
    b += "<tr><td class=\"num\">" + std::to_string(++i) + "</td><td><code>" + Esc(e.value("expectation_type", "")) +
         "</code></td><td><pre>" + Esc(e.value("kwargs", json::object()).dump()) + "</pre></td><td>" +
         Esc(meta.value("severity", std::string("error"))) + "</td><td>" + notes + "</td></tr>";
  }
  b += "</table><h2>Latest validations</h2><table><tr><th>Run</th><th>Asset</th><th>Result</th><th>Passed</th></tr>";
  for (size_t k = 0; k < runs.size() && k < 50; ++k) {
    const json& r = runs[k];
    b += "<tr><td><a href=\"../validations/" + Esc(r["id"]) + ".html\">" + Esc(r["run_name"].get<std::string>()) +
         "</a></td><td>" + Esc(r["asset"].get<std::string>()) + "</td><td>" +
         StatusHtml(r["blocking"] == 0, r["warnings"]) + "</td><td class=\"num\">" +
         std::to_string(r["successful"].get<int>()) + " / " + std::to_string(r["evaluated"].get<int>()) + "</td></tr>";
  }
  b += "</table>";
  return Page("Suite " + name, "../", b);
}

std::string IndexName(size_t page) { return page == 0 ? "index.html" : "index-" + std::to_string(page + 1) + ".html"; }

Status WriteIndex(const QualityPaths& paths, const json& catalog) {
  // Newest first.
  std::vector<json> all(catalog.begin(), catalog.end());
  std::stable_sort(all.begin(), all.end(), [](const json& a, const json& b) {
    return a["run_time"].get<std::string>() > b["run_time"].get<std::string>();
  });
  // Per suite: validations, the latest result, and the pass rate of its expectations.
  struct Agg {
    int runs = 0, evaluated = 0, successful = 0;
    const json* latest = nullptr;
  };
  std::map<std::string, Agg> suites;
  int evaluated = 0, successful = 0;
  for (const auto& e : all) {
    Agg& a = suites[e["suite"]];
    ++a.runs;
    a.evaluated += e["evaluated"].get<int>();
    a.successful += e["successful"].get<int>();
    if (a.latest == nullptr) a.latest = &e;
    evaluated += e["evaluated"].get<int>();
    successful += e["successful"].get<int>();
  }
  std::string summary =
      "<h1>Data docs</h1><p class=\"muted\">Every validation of the project's expectation suites "
      "(Great Expectations' format), newest first.</p>";
  summary += "<div class=\"kpis\"><div class=\"kpi\">Validations<b>" + std::to_string(all.size()) +
             "</b></div><div class=\"kpi\">Expectations evaluated<b>" + std::to_string(evaluated) +
             "</b></div><div class=\"kpi\">Pass rate<b>" +
             (evaluated ? Pct(100.0 * successful / evaluated) : std::string("&ndash;")) + "</b></div></div>";
  summary +=
      "<h2>Suites</h2><table><tr><th>Suite</th><th class=\"num\">Validations</th><th>Latest</th><th class=\"num\">Pass "
      "rate</th></tr>";
  for (const auto& [name, a] : suites) {
    summary += "<tr><td><a href=\"" + SuitePage(name) + "\">" + Esc(name) + "</a></td><td class=\"num\">" +
               std::to_string(a.runs) + "</td><td><a href=\"validations/" + Esc((*a.latest)["id"]) + ".html\">" +
               StatusHtml((*a.latest)["blocking"] == 0, (*a.latest)["warnings"]) + "</a></td><td class=\"num\">" +
               (a.evaluated ? Pct(100.0 * a.successful / a.evaluated) : std::string("&ndash;")) + "</td></tr>";
  }
  summary += "</table>";
  const size_t pages = std::max<size_t>(1, (all.size() + kPerPage - 1) / kPerPage);
  for (size_t page = 0; page < pages; ++page) {
    std::string b = page == 0 ? summary : "<h1>Data docs</h1>";
    b += "<h2>Validations" +
         (pages > 1 ? " (page " + std::to_string(page + 1) + " of " + std::to_string(pages) + ")" : std::string()) +
         "</h2><table><tr><th>Run time</th><th>Run</th><th>Suite</th><th>Asset</th><th>Result</th><th "
         "class=\"num\">Passed</th></tr>";
    for (size_t i = page * kPerPage; i < all.size() && i < (page + 1) * kPerPage; ++i) {
      const json& e = all[i];
      b += "<tr><td>" + Esc(e["run_time"].get<std::string>()) + "</td><td>" + Esc(e["run_name"].get<std::string>()) +
           "</td><td><a href=\"" + SuitePage(e["suite"]) + "\">" + Esc(e["suite"].get<std::string>()) +
           "</a></td><td>" + Esc(e["asset"].get<std::string>()) + "</td><td><a href=\"validations/" + Esc(e["id"]) +
           ".html\">" + StatusHtml(e["blocking"] == 0, e["warnings"]) + "</a></td><td class=\"num\">" +
           std::to_string(e["successful"].get<int>()) + " / " + std::to_string(e["evaluated"].get<int>()) +
           "</td></tr>";
    }
    b += "</table><div class=\"pager\">";
    if (page > 0) b += "<a href=\"" + IndexName(page - 1) + "\">&larr; Newer</a>";
    if (page + 1 < pages) b += "<a href=\"" + IndexName(page + 1) + "\">Older &rarr;</a>";
    b += "</div>";
    STRATA_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(paths.docs, IndexName(page)), Page("Data docs", "", b)));
  }
  return Status::OK();
}

Result<std::string> Update(const QualityPaths& paths, const std::vector<std::string>& results, json catalog) {
  STRATA_RETURN_IF_ERROR(MakeDirs(JoinPath(paths.docs, "validations")));
  STRATA_RETURN_IF_ERROR(MakeDirs(JoinPath(paths.docs, "suites")));
  std::map<std::string, json> touched_suites;  // suite -> its expectations (from the latest result)
  for (const auto& file : results) {
    STRATA_ASSIGN_OR_RETURN(std::string text, ReadFile(file));
    json v = json::parse(text, nullptr, false);
    if (!v.is_object() || !v.contains("results") || !v.contains("meta")) {
      return Status::Corruption(file + " is not a validation result");
    }
    json entry = EntryOf(v, file);
    catalog.erase(std::remove_if(catalog.begin(), catalog.end(), [&](const json& e) { return e["id"] == entry["id"]; }),
                  catalog.end());
    catalog.push_back(entry);
    STRATA_RETURN_IF_ERROR(WriteFileAtomic(
        JoinPath(paths.docs, "validations/" + entry["id"].get<std::string>() + ".html"), ValidationHtml(v, entry)));
    json expectations = json::array();
    for (const auto& r : v["results"]) expectations.push_back(r["expectation_config"]);
    touched_suites[entry["suite"]] = expectations;
  }
  for (const auto& [suite, expectations] : touched_suites) {
    std::vector<json> runs;
    for (const auto& e : catalog) {
      if (e["suite"] == suite) runs.push_back(e);
    }
    std::stable_sort(runs.begin(), runs.end(), [](const json& a, const json& b) {
      return a["run_time"].get<std::string>() > b["run_time"].get<std::string>();
    });
    STRATA_RETURN_IF_ERROR(
        WriteFileAtomic(JoinPath(paths.docs, SuitePage(suite)), SuiteHtml(suite, expectations, runs)));
  }
  STRATA_RETURN_IF_ERROR(WriteIndex(paths, catalog));
  STRATA_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(paths.docs, "catalog.json"), catalog.dump() + "\n"));
  return JoinPath(paths.docs, "index.html");
}

}  // namespace

Result<std::string> UpdateDataDocs(const QualityPaths& paths, const std::vector<std::string>& results) {
  json catalog = json::array();
  auto text = ReadFile(JoinPath(paths.docs, "catalog.json"));
  if (text.ok()) {
    catalog = json::parse(*text, nullptr, false);
    if (!catalog.is_array()) catalog = json::array();  // a damaged catalog: rebuilt from these results on
  }
  return Update(paths, results, std::move(catalog));
}

Result<std::string> RebuildDataDocs(const QualityPaths& paths) {
  std::vector<std::string> files;
  std::error_code ec;
  if (std::filesystem::is_directory(paths.validations, ec)) {
    for (auto it = std::filesystem::recursive_directory_iterator(paths.validations, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return Update(paths, files, json::array());
}

}  // namespace strata::quality
