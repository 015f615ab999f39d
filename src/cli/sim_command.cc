// strata sim, strata sim serve-api: the simulated company's data sources.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "core/date.h"
#include "core/file.h"
#include "core/http_client.h"
#include "sim/catalog_api.h"
#include "sim/pg_mirror.h"
#include "sim/shop_simulator.h"

namespace strata::cli {
namespace {

struct SimFlags {
  std::string out;
  uint64_t seed = 42;
  double scale = 1.0;
  std::string start = "2024-01-01";
  int days = 30;
  std::string day;
  bool no_dirt = false;
  sim::DirtOptions dirt;
  bool json = false;
  bool postgres = false;
  std::string pg_schema = "shop";
};

struct ServeFlags {
  std::string out;
  std::string host = "127.0.0.1";
  int port = 8765;
  std::string port_file;
  sim::FaultOptions faults;
};

[[noreturn]] void Fail(int code, const std::string& message) {
  std::cerr << "error: " << message << std::endl;
  throw CLI::RuntimeError(code);
}

int ExitCodeFor(const Status& s) { return s.code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure; }

Date ParseDateFlag(const std::string& flag, const std::string& text) {
  Result<Date> d = Date::Parse(text);
  if (!d.ok()) Fail(kExitUsage, flag + ": " + d.status().message());
  return *d;
}

void RunSim(const SimFlags& f, CLI::App* sim) {
  if (f.out.empty()) Fail(kExitUsage, "strata sim: --out DIR is required");
  sim::SimSummary summary;
  Status status;
  if (!f.day.empty()) {
    for (const char* name : {"--seed", "--scale", "--start", "--days", "--no-dirt", "--duplicate-rate", "--late-rate",
                             "--malformed-rate", "--missing-rate", "--unknown-type-rate", "--drift-day"}) {
      if (sim->count(name) > 0) {
        Fail(kExitUsage, std::string(name) +
                             " cannot be combined with --day: an existing simulation keeps its "
                             "own options");
      }
    }
    Date through = ParseDateFlag("--day", f.day);
    status = sim::ShopSimulator::AdvanceTo(f.out, through, &summary);
  } else {
    sim::SimOptions options;
    options.out_dir = f.out;
    options.seed = f.seed;
    options.scale = f.scale;
    options.start = ParseDateFlag("--start", f.start);
    options.days = f.days;
    // Defaults, or none with --no-dirt; explicit rates win either way.
    options.dirt = f.no_dirt ? sim::DirtOptions::None() : sim::DirtOptions();
    if (sim->count("--duplicate-rate")) options.dirt.duplicate_rate = f.dirt.duplicate_rate;
    if (sim->count("--late-rate")) options.dirt.late_rate = f.dirt.late_rate;
    if (sim->count("--malformed-rate")) options.dirt.malformed_rate = f.dirt.malformed_rate;
    if (sim->count("--missing-rate")) {
      options.dirt.missing_optional_rate = f.dirt.missing_optional_rate;
    }
    if (sim->count("--unknown-type-rate")) options.dirt.unknown_type_rate = f.dirt.unknown_type_rate;
    if (sim->count("--drift-day")) options.dirt.schema_drift_day = f.dirt.schema_drift_day;
    status = sim::ShopSimulator::Generate(options, &summary);
  }
  if (!status.ok()) Fail(ExitCodeFor(status), status.message());
  if (f.postgres) {
    // The server from libpq's environment variables; the password never from the command line.
    auto env = [](const char* name, const char* def) {
      const char* v = std::getenv(name);
      return std::string(v != nullptr && *v != '\0' ? v : def);
    };
    pg::ConnectOptions o;
    o.host = env("PGHOST", "127.0.0.1");
    o.port = std::atoi(env("PGPORT", "5432").c_str());
    o.user = env("PGUSER", "postgres");
    o.password = env("PGPASSWORD", "");
    o.dbname = env("PGDATABASE", o.user.c_str());
    auto conn = pg::Connection::Open(o);
    if (!conn.ok()) Fail(ExitCodeFor(conn.status()), conn.status().message());
    auto mirrored = sim::MirrorToPostgres(f.out + "/shop.db", conn->get(), f.pg_schema);
    if (!mirrored.ok()) Fail(ExitCodeFor(mirrored.status()), mirrored.status().message());
    if (!f.json) {
      std::cout << "mirrored " << mirrored->tables << " tables (" << mirrored->rows << " rows) to postgres "
                << o.Describe() << " schema " << f.pg_schema << "\n";
    }
  }
  if (f.json) {
    std::cout << summary.ToJson() << std::endl;
  } else {
    std::cout << summary.ToText() << std::flush;
  }
}

void RunServe(const ServeFlags& f) {
  if (f.out.empty()) Fail(kExitUsage, "strata sim serve-api: --out DIR is required");
  // Block the stop signals before any thread exists so that every thread inherits the mask and
  // only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);

  sim::ApiOptions options;
  options.out_dir = f.out;
  options.host = f.host;
  options.port = f.port;
  options.faults = f.faults;
  auto server = std::make_unique<sim::CatalogApiServer>();
  Status status = server->Start(options);
  if (!status.ok()) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    Fail(ExitCodeFor(status), status.message());
  }
  if (!f.port_file.empty()) {
    Status written = WriteFileAtomic(f.port_file, std::to_string(server->port()) + "\n");
    if (!written.ok()) {
      server->Stop();
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      Fail(kExitFailure, written.message());
    }
  }
  std::cout << "catalog API listening on http://" << f.host << ":" << server->port() << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  server->Stop();
  sim::ApiStats stats = server->stats();
  std::cout << "catalog API stopped (" << stats.requests << " requests, " << stats.faults_total() << " injected faults)"
            << std::endl;
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

struct PostFlags {
  std::string out;
  std::string url;
  std::string day;  // post files dated up to this day only (YYYY-MM-DD); empty: all
  int batch = 1000;
};

// Posts the simulated clickstream (events/*.jsonl, in name order) to a collector instead of
// leaving the files for the events connector. What was acknowledged is kept per file in
// <out>/.posted.json (complete lines only), so a rerun posts only what is new; a post cut off
// before its answer is posted again, and the collector's event ids make that harmless.
void RunPostEvents(const PostFlags& f) {
  const char* token = std::getenv("STRATA_COLLECT_TOKEN");
  if (token == nullptr || *token == '\0') {
    std::cerr << "strata sim post-events: set STRATA_COLLECT_TOKEN to a token the collector accepts" << std::endl;
    throw CLI::RuntimeError(kExitUsage);
  }
  const std::string dir = JoinPath(f.out, "events");
  const std::string state_path = JoinPath(f.out, ".posted.json");
  nlohmann::json state = nlohmann::json::object();
  if (auto text = ReadFile(state_path); text.ok()) state = nlohmann::json::parse(*text, nullptr, false);
  if (!state.is_object()) state = nlohmann::json::object();
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() < 6 || name.compare(name.size() - 6, 6, ".jsonl") != 0) continue;
    // events-YYYY-MM-DD-HH.jsonl: the date after "events-".
    if (!f.day.empty() && name.size() >= 17 && name.substr(7, 10) > f.day) continue;
    files.push_back(name);
  }
  std::sort(files.begin(), files.end());
  HttpClient client(HttpRetryPolicy{30, 200, 5000, 2.0, true}, 30000,
                    {{"Authorization", std::string("Bearer ") + token}});
  const std::string url = f.url + "/v1/events";
  int64_t posted = 0, ok = 0, duplicates = 0, rejected = 0;
  for (const auto& name : files) {
    auto text = ReadFile(JoinPath(dir, name));
    if (!text.ok()) {
      std::cerr << "strata sim post-events: " << text.status().message() << std::endl;
      throw CLI::RuntimeError(kExitFailure);
    }
    size_t offset = state.value(name, size_t{0});
    const size_t complete = text->rfind('\n') == std::string::npos ? 0 : text->rfind('\n') + 1;
    while (offset < complete) {
      size_t end = offset;
      for (int n = 0; n < f.batch && end < complete; ++n) end = text->find('\n', end) + 1;
      auto r = client.Post(url, text->substr(offset, end - offset), {"Content-Type: application/x-ndjson"});
      if (!r.ok()) {
        std::cerr << "strata sim post-events: " << r.status().message() << std::endl;
        throw CLI::RuntimeError(kExitFailure);
      }
      auto answer = nlohmann::json::parse(r->body, nullptr, false);
      ok += answer.value("accepted", int64_t{0});
      duplicates += answer.value("duplicates", int64_t{0});
      rejected += answer.value("rejected", int64_t{0});
      posted += static_cast<int64_t>(std::count(text->begin() + static_cast<std::ptrdiff_t>(offset),
                                                text->begin() + static_cast<std::ptrdiff_t>(end), '\n'));
      offset = end;
      state[name] = offset;
      Status saved = WriteFileAtomic(state_path, state.dump());
      if (!saved.ok()) {
        std::cerr << "strata sim post-events: " << saved.message() << std::endl;
        throw CLI::RuntimeError(kExitFailure);
      }
    }
  }
  // Land what was posted, so that a load right after reads it.
  auto flushed = client.Post(f.url + "/v1/flush", "", {"Content-Type: application/json"});
  if (!flushed.ok()) {
    std::cerr << "strata sim post-events: flushing the collector: " << flushed.status().message() << std::endl;
    throw CLI::RuntimeError(kExitFailure);
  }
  std::cout << "posted " << posted << " event line(s) from " << files.size() << " file(s) to " << url << ": " << ok
            << " accepted, " << duplicates << " duplicate(s), " << rejected << " rejected" << std::endl;
}

}  // namespace

void RegisterSimCommands(CLI::App* app) {
  auto sim_flags = std::make_shared<SimFlags>();
  auto serve_flags = std::make_shared<ServeFlags>();

  CLI::App* sim =
      app->add_subcommand("sim", "Simulate an e-commerce company's data sources (database, clickstream, catalog API)");
  sim->add_option("--out", sim_flags->out, "Simulation folder (shop.db, events/, sim_state.json)");
  sim->add_option("--seed", sim_flags->seed, "Random seed")->capture_default_str();
  sim->add_option("--scale", sim_flags->scale,
                  "Volume factor: 1 = 1,000 customers, 5,000 orders, 50,000 events per 30 days")
      ->capture_default_str();
  sim->add_option("--start", sim_flags->start, "First simulated day (YYYY-MM-DD)")->capture_default_str();
  sim->add_option("--days", sim_flags->days, "Number of days to simulate")->capture_default_str();
  sim->add_option("--day", sim_flags->day, "Extend the existing simulation in --out up to and including this day");
  sim->add_flag("--no-dirt", sim_flags->no_dirt, "Generate clean events only");
  sim->add_option("--duplicate-rate", sim_flags->dirt.duplicate_rate, "Duplicate event lines")->capture_default_str();
  sim->add_option("--late-rate", sim_flags->dirt.late_rate, "Events delivered 1-3 days late")->capture_default_str();
  sim->add_option("--malformed-rate", sim_flags->dirt.malformed_rate, "Lines that are not JSON")->capture_default_str();
  sim->add_option("--missing-rate", sim_flags->dirt.missing_optional_rate, "Events missing optional fields")
      ->capture_default_str();
  sim->add_option("--unknown-type-rate", sim_flags->dirt.unknown_type_rate, "Events of unknown types")
      ->capture_default_str();
  sim->add_flag("--postgres", sim_flags->postgres,
                "Also keep the operational tables in PostgreSQL (server from PGHOST, PGPORT, PGUSER, "
                "PGPASSWORD, PGDATABASE), for a sql source with driver: postgres");
  sim->add_option("--pg-schema", sim_flags->pg_schema, "PostgreSQL schema of --postgres")->capture_default_str();
  sim->add_option("--drift-day", sim_flags->dirt.schema_drift_day,
                  "Day index from which events carry app_version (-1 = never)")
      ->capture_default_str();
  sim->add_flag("--json", sim_flags->json, "Print the summary as JSON");

  CLI::App* serve = sim->add_subcommand("serve-api", "Serve the product catalog REST API");
  serve->add_option("--out", serve_flags->out, "Simulation folder")->required();
  serve->add_option("--host", serve_flags->host, "Address to bind")->capture_default_str();
  serve->add_option("--port", serve_flags->port, "Port (0 = any free port)")->capture_default_str();
  serve->add_option("--port-file", serve_flags->port_file, "Write the bound port to this file once listening");
  serve->add_option("--fault-429-rate", serve_flags->faults.rate_429, "Share of 429 answers");
  serve->add_option("--retry-after", serve_flags->faults.retry_after_s, "Retry-After seconds of 429 answers")
      ->capture_default_str();
  serve->add_option("--fault-5xx-rate", serve_flags->faults.rate_5xx, "Share of 5xx answers");
  serve->add_option("--fault-slow-rate", serve_flags->faults.rate_slow, "Share of slow answers");
  serve->add_option("--slow-ms", serve_flags->faults.slow_ms, "Delay of slow answers (ms)")->capture_default_str();
  serve->add_option("--fail-first", serve_flags->faults.fail_first_n, "Answer the first N product requests with 503");
  serve->add_option("--fault-seed", serve_flags->faults.seed, "Seed of the fault decisions")->capture_default_str();

  serve->callback([serve_flags] { RunServe(*serve_flags); });

  auto post_flags = std::make_shared<PostFlags>();
  CLI::App* post = sim->add_subcommand(
      "post-events", "Post the simulated clickstream to `strata collect` (STRATA_COLLECT_TOKEN) instead of files");
  post->add_option("--out", post_flags->out, "Simulation folder")->required();
  post->add_option("--url", post_flags->url, "The collector's base URL, e.g. http://127.0.0.1:8686")->required();
  post->add_option("--day", post_flags->day, "Only files dated up to this day (YYYY-MM-DD)");
  post->add_option("--batch", post_flags->batch, "Events per request")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  post->callback([post_flags] { RunPostEvents(*post_flags); });

  sim->callback([sim_flags, sim, serve, post] {
    if (serve->parsed() || post->parsed()) return;  // the sub-command ran its own callback
    RunSim(*sim_flags, sim);
  });
}

}  // namespace strata::cli
