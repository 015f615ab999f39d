// serve_bench: a dashboard's cards as `strata serve` answers them, against the same SQL run by
// DuckDB alone.
//
//   serve_bench --warehouse W.duckdb --dashboards DIR --dashboard ID --work DIR [--reps N]
//               [--seconds S]
//
// The warehouse (a scratch copy: it is changed) holds the shop's built marts in `marts`; they
// are published into `analytics` and written as a serving copy, as a pipeline's publish does.
// Then, for every card under the dashboard's default filters:
//   duckdb     the card's queries as the API binds them (the filter anchors, the card, and the
//              previous period when the card compares), prepared and run on the serving copy
//              through DuckDB's API alone; median and p99 of --reps runs
//   uncached   the API with no cache (every request runs those queries), in process, one
//              request at a time; median and p99 of --reps
//   cached_1, cached_50, uncached_50
//              HTTP on loopback through `wrk` (Debian) for --seconds (uncached: at least 10)
//              with 1 or 50 connections: p50/p95/p99 latency (ms), requests/s and errors
// Prints one JSON document.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench_util.h"
#include "core/file.h"
#include "db/duckdb.h"
#include "serve/api.h"
#include "serve/server.h"
#include "warehouse/serving_copy.h"

using namespace strata;
using namespace strata::serve;
using nlohmann::json;

namespace {

using bench::Now;

[[noreturn]] void Die(const Status& s) { bench::Die("serve_bench", s); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

json Stats(const std::vector<double>& seconds) {
  return {{"median_ms", Percentile(seconds, 0.5) * 1e3}, {"p99_ms", Percentile(seconds, 0.99) * 1e3}};
}

// wrk's summary through a Lua `done` hook: latency percentiles (µs) and requests/s.
constexpr const char* kWrkScript = R"(done = function(summary, latency, requests)
  io.write(string.format("STRATA %f %f %f %f %d %d\n", latency:percentile(50), latency:percentile(95),
    latency:percentile(99), summary.requests / (summary.duration / 1e6), summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
)";

json Wrk(const std::string& url, int connections, int seconds, const std::string& script) {
  // A request waits for one of the server's query connections: give it time to (wrk's default
  // timeout of 2 s would drop, not measure, uncached requests queued behind 50 others).
  const std::string cmd = "wrk -t" + std::to_string(std::min(2, connections)) + " -c" + std::to_string(connections) +
                          " -d" + std::to_string(seconds) + "s --timeout 60s -s " + script + " '" + url + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return {{"error", "cannot run wrk"}};
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  ::pclose(p);
  size_t at = out.find("STRATA ");
  if (at == std::string::npos) return {{"error", out.substr(0, 300)}};
  double p50 = 0, p95 = 0, p99 = 0, rps = 0;
  long long requests = 0, errors = 0;
  std::sscanf(out.c_str() + at, "STRATA %lf %lf %lf %lf %lld %lld", &p50, &p95, &p99, &rps, &requests, &errors);
  return {{"p50_ms", p50 / 1e3}, {"p95_ms", p95 / 1e3},  {"p99_ms", p99 / 1e3},
          {"rps", rps},          {"requests", requests}, {"errors", errors}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string warehouse, dashboards, dashboard = "overview", work;
  int reps = 20, seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--warehouse") warehouse = v;
    if (k == "--dashboards") dashboards = v;
    if (k == "--dashboard") dashboard = v;
    if (k == "--work") work = v;
    if (k == "--reps") reps = std::stoi(v);
    if (k == "--seconds") seconds = std::stoi(v);
  }
  if (warehouse.empty() || dashboards.empty() || work.empty()) {
    std::cerr << "usage: serve_bench --warehouse W --dashboards DIR --dashboard ID --work DIR [--reps N]\n";
    return 2;
  }
  // Publish the marts and write the serving copy, as the pipeline's publish task does.
  const std::string served = JoinPath(work, "published");
  double copy_seconds = 0;
  {
    auto db = duck::Database::Open(warehouse);
    if (!db.ok()) Die(db.status());
    auto c = *(*db)->Connect();
    auto tables = c->Query("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'");
    if (!tables.ok()) Die(tables.status());
    std::string sql = "DROP SCHEMA IF EXISTS analytics CASCADE; CREATE SCHEMA analytics;";
    for (const auto& row : tables->rows) {
      sql += "CREATE TABLE analytics." + duck::QuoteIdent(*row[0]) + " AS SELECT * FROM marts." +
             duck::QuoteIdent(*row[0]) + ";";
    }
    if (Status s = c->Execute(sql); !s.ok()) Die(s);
    const double t0 = Now();
    auto copy = warehouse::WriteServingCopy(c.get(), "analytics", served);
    if (!copy.ok()) Die(copy.status());
    copy_seconds = Now() - t0;
  }
  auto dash = LoadDashboard(JoinPath(dashboards, dashboard + ".yml"));
  if (!dash.ok()) Die(dash.status());

  const int cores = std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  auto cached_pubs = Publications::ServingCopies(served, "analytics", cores);
  auto uncached_pubs = Publications::ServingCopies(served, "analytics", cores);
  ApiOptions options;
  options.dashboards_dir = dashboards;
  Api cached(cached_pubs.get(), options);
  options.cache_bytes = 0;
  Api uncached(uncached_pubs.get(), options);

  auto copy = warehouse::CurrentServingCopy(served);
  auto direct_db = duck::Database::Open((*copy)->file, {{"access_mode", "READ_ONLY"}});
  if (!direct_db.ok()) Die(direct_db.status());
  auto direct = *(*direct_db)->Connect();

  ServerOptions so;
  so.port = 0;
  so.threads = 64;
  Server cached_server(&cached, so);
  Server uncached_server(&uncached, so);
  if (Status s = cached_server.Bind(); !s.ok()) Die(s);
  if (Status s = uncached_server.Bind(); !s.ok()) Die(s);
  std::thread t1([&] { (void)cached_server.Run(); });
  std::thread t2([&] { (void)uncached_server.Run(); });
  const std::string script = JoinPath(work, "wrk.lua");
  if (Status s = WriteFileAtomic(script, kWrkScript, Durability::kAtomicOnly); !s.ok()) Die(s);

  json cards = json::array();
  for (const auto& card : dash->cards) {
    const std::string path = "/api/dashboards/" + dash->id + "/cards/" + card.id;
    ApiRequest sql_req;
    sql_req.path = path + "/sql";
    json bound = json::parse(cached.Handle(sql_req).body);
    // The queries the API runs for this card: the anchors of the filters it takes, the card,
    // and the previous period.
    std::vector<std::pair<std::string, std::vector<std::string>>> queries;
    for (const auto& f : dash->filters) {
      if (!f.anchor || !card.query.filters().contains(f.id)) continue;
      auto q = f.anchor->Bind(nullptr, [&](const std::string& m) { return (*cached_pubs->Current())->Relation(m); });
      queries.push_back({q->sql, {}});
    }
    queries.push_back({bound["bound_sql"], bound["params"].get<std::vector<std::string>>()});
    if (bound.contains("previous_params")) {
      queries.push_back({bound["bound_sql"], bound["previous_params"].get<std::vector<std::string>>()});
    }
    std::vector<double> duck_s, uncached_s;
    for (int r = 0; r < reps; ++r) {
      const double t0 = Now();
      for (const auto& [sql, params] : queries) {
        auto ps = direct->Prepare("SELECT * FROM (" + sql + "\n) AS strata_card LIMIT 10001");
        if (!ps.ok()) Die(ps.status());
        for (size_t i = 0; i < params.size(); ++i) (void)(*ps)->Bind(static_cast<int>(i + 1), params[i]);
        auto res = (*ps)->Execute();
        if (!res.ok()) Die(res.status());
      }
      duck_s.push_back(Now() - t0);
      ApiRequest req;
      req.path = path;
      const double t1s = Now();
      ApiResponse resp = uncached.Handle(req);
      uncached_s.push_back(Now() - t1s);
      if (resp.status != 200) Die(Status::Internal(card.id + ": " + resp.body));
    }
    json entry = {{"card", card.id},
                  {"viz", card.viz},
                  {"queries", queries.size()},
                  {"duckdb", Stats(duck_s)},
                  {"uncached", Stats(uncached_s)},
                  {"ratio", Percentile(uncached_s, 0.5) / std::max(Percentile(duck_s, 0.5), 1e-9)}};
    std::cerr << "serve_bench: " << card.id << " " << entry["uncached"].dump() << " vs " << entry["duckdb"].dump()
              << "\n";
    cards.push_back(entry);
  }
  // Over HTTP, after every in-process measurement (a load run leaves the server busy for a
  // moment after wrk stops).
  for (auto& entry : cards) {
    const std::string path = "/api/dashboards/" + dash->id + "/cards/" + entry["card"].get<std::string>();
    ApiRequest warm;
    warm.path = path;
    (void)cached.Handle(warm);
    entry["cached_1"] = Wrk("http://127.0.0.1:" + std::to_string(cached_server.port()) + path, 1, seconds, script);
    entry["cached_50"] = Wrk("http://127.0.0.1:" + std::to_string(cached_server.port()) + path, 50, seconds, script);
  }
  for (auto& entry : cards) {
    const std::string path = "/api/dashboards/" + dash->id + "/cards/" + entry["card"].get<std::string>();
    // Long enough for every connection to finish requests even when a card takes 0.2 s.
    entry["uncached_50"] =
        Wrk("http://127.0.0.1:" + std::to_string(uncached_server.port()) + path, 50, std::max(seconds, 10), script);
    std::this_thread::sleep_for(std::chrono::seconds(1));  // let the queue drain
  }
  cached_server.Stop();
  uncached_server.Stop();
  t1.join();
  t2.join();
  std::error_code ec;
  json out = {{"dashboard", dash->id},
              {"serving_copy_seconds", copy_seconds},
              {"serving_copy_bytes", std::filesystem::file_size((*copy)->file, ec)},
              {"reps", reps},
              {"seconds", seconds},
              {"cards", cards}};
  std::cout << out.dump(2) << "\n";
  return 0;
}
