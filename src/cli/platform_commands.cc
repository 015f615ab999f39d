// strata ingest | load | query: the platform's commands over a project.
#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/signals.h"
#include "core/date.h"
#include "core/file.h"
#include "core/project.h"
#include "ingest/collector.h"
#include "ingest/connector.h"
#include "lake/lake.h"
#include "transform/target.h"
#include "warehouse/target.h"

namespace strata::cli {
namespace {

using nlohmann::json;

struct CommonFlags {
  std::string project = ".";
  bool json = false;
};

void AddCommon(CLI::App* sub, CommonFlags* f) {
  sub->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  sub->add_flag("--json", f->json, "Print one JSON document for machines");
}

std::string Num(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > (n < 0 ? 1 : 0); i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string Secs(double s) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(s < 10 ? 2 : 1) << s << "s";
  return o.str();
}

std::string TableLine(const ingest::TableResult& r) {
  std::string line = "  " + r.source + "." + r.table + ": ";
  if (r.batch_id.empty()) return line + "nothing new";
  line += "received " + Num(r.received) + " = landed " + Num(r.landed) + " + quarantined " + Num(r.quarantined) +
          "  (batch " + r.batch_id + ", " + std::to_string(r.files) + " file(s), " + Num(r.bytes) + " bytes, " +
          Secs(r.seconds) + ")";
  return line;
}

struct Session {
  Project project;
  std::unique_ptr<lake::Lake> lake;
};

Session OpenProject(Output& out, const CommonFlags& f) {
  auto project = Project::Load(f.project);
  if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
  auto store = lake::OpenObjectStore(project->lake_location);
  if (!store.ok()) Fail(out, store.status());
  return Session{std::move(*project), std::make_unique<lake::Lake>(std::move(*store))};
}

std::string ResolveDate(Output& out, const std::string& date) {
  if (date.empty()) return Date::TodayUtc().ToString();
  auto d = Date::Parse(date);
  if (!d.ok()) Fail(out, Status::InvalidArgument("--date: " + d.status().message()), kExitUsage);
  return d->ToString();
}

// Ingests the named sources (all if empty). Returns false if any source failed.
bool RunIngest(Output& out, Session& s, const std::vector<std::string>& sources, const ingest::IngestOptions& base,
               json* doc) {
  std::vector<std::string> names = sources.empty() ? s.project.SourceNames() : sources;
  bool ok = true;
  json src_docs = json::array();
  for (const auto& name : names) {
    const SourceConfig* src = s.project.FindSource(name);
    if (src == nullptr) {
      std::string hint = Closest(name, s.project.SourceNames());
      Fail(out,
           Status::InvalidArgument("no source '" + name + "' in " + s.project.file +
                                   (hint.empty() ? "" : " (did you mean '" + hint + "'?)")),
           kExitUsage);
    }
    ingest::IngestOptions opts = base;
    opts.on_progress = [&](const std::string& table, int64_t rows) {
      out.Progress("ingesting " + name + "." + table + ": " + Num(rows) + " records");
    };
    auto start = std::chrono::steady_clock::now();
    std::vector<ingest::TableResult> results;
    Status st = ingest::IngestSource(s.project, s.lake.get(), *src, opts, &results);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out.Line(std::string(st.ok() ? "ok" : "FAILED") + "  " + name + " (" + src->type + ", " + Secs(secs) + ")");
    json tables = json::array();
    for (const auto& r : results) {
      out.Line(TableLine(r));
      for (const auto& w : r.warnings) out.Line("    warning: " + w);
      tables.push_back(ingest::ToJson(r));
    }
    if (!st.ok()) {
      out.Error(st.message());
      ok = false;
    }
    src_docs.push_back({{"source", name},
                        {"type", src->type},
                        {"ok", st.ok()},
                        {"seconds", secs},
                        {"error", st.ok() ? json() : json(st.message())},
                        {"tables", tables}});
  }
  (*doc)["sources"] = src_docs;
  return ok;
}

bool RunLoad(Output& out, Session& s, json* doc) {
  std::vector<warehouse::LoadResult> results;
  std::string destination;
  Status st = [&]() -> Status {
    STRATA_ASSIGN_OR_RETURN(warehouse::Target target, transform::ResolveTarget(s.project));
    destination = target.Describe();
    warehouse::OpenTarget::Options options;
    options.on_wait = [&](const std::string& message) { out.Error(message); };
    STRATA_ASSIGN_OR_RETURN(auto open, warehouse::OpenTarget::Open(target, options));
    return open->LoadRaw(
        s.lake.get(), &results,
        [&](const warehouse::LoadResult& r) {
          for (const auto& w : r.warnings) out.Line("  warning: " + r.relation + ": " + w);
          if (r.files == 0) return;
          std::string added;
          for (const auto& a : r.added_columns) added += (added.empty() ? "" : ", ") + a;
          out.Line("  " + r.relation + ": +" + Num(r.rows) + " rows from " + std::to_string(r.files) + " file(s) in " +
                   std::to_string(r.batches) + " batch(es), " + Secs(r.seconds) +
                   (added.empty() ? "" : " (new columns: " + added + ")"));
        },
        nullptr);
  }();
  json loads = json::array();
  int64_t total = 0;
  for (const auto& r : results) {
    loads.push_back(warehouse::ToJson(r));
    total += r.rows;
  }
  if (total == 0 && st.ok()) out.Line("  nothing new to load");
  if (!destination.empty()) out.Line("  warehouse: " + destination);
  (*doc)["load"] = {
      {"warehouse", destination}, {"ok", st.ok()}, {"tables", loads}, {"error", st.ok() ? json() : json(st.message())}};
  if (!st.ok()) {
    out.Error(st.message());
    return false;
  }
  return true;
}

}  // namespace

void RegisterIngestCommands(CLI::App* app) {
  struct Flags : CommonFlags {
    std::vector<std::string> sources, tables;
    std::string date;
    bool full_refresh = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = app->add_subcommand("ingest", "Land new data from the project's sources in the lake");
  AddCommon(sub, f.get());
  sub->add_option("-s,--source", f->sources, "Only these sources (repeatable)");
  sub->add_option("-t,--table", f->tables, "Only these tables/endpoints (repeatable)");
  sub->add_option("--date", f->date, "Logical date YYYY-MM-DD (default: today, UTC)");
  sub->add_flag("--full-refresh", f->full_refresh, "Extract whole tables, ignoring watermarks");
  sub->callback([f] {
    Output out(f->json);
    Session s = OpenProject(out, *f);
    ingest::IngestOptions opts;
    opts.date = ResolveDate(out, f->date);
    opts.full_refresh = f->full_refresh;
    opts.tables = f->tables;
    json doc = {{"date", opts.date}, {"lake", s.project.lake_location}};
    out.Line("ingesting into " + s.project.lake_location + " (dt=" + opts.date + ")");
    bool ok = RunIngest(out, s, f->sources, opts, &doc);
    doc["ok"] = ok;
    out.Json(doc);
    if (!ok) throw CLI::RuntimeError(kExitFailure);
  });
}

void RegisterWarehouseCommands(CLI::App* app) {
  {
    auto f = std::make_shared<CommonFlags>();
    CLI::App* sub = app->add_subcommand("load", "Load new lake batches into the warehouse's raw schema");
    AddCommon(sub, f.get());
    sub->callback([f] {
      Output out(f->json);
      Session s = OpenProject(out, *f);
      json doc;
      out.Line("loading " + s.project.lake_location + " into the warehouse");
      bool ok = RunLoad(out, s, &doc);
      doc["ok"] = ok;
      out.Json(doc);
      if (!ok) throw CLI::RuntimeError(kExitFailure);
    });
  }
  {
    struct Flags : CommonFlags {
      std::string sql;
    };
    auto f = std::make_shared<Flags>();
    CLI::App* sub = app->add_subcommand("query", "Run SQL on the warehouse and print the result");
    AddCommon(sub, f.get());
    sub->add_option("sql", f->sql, "The SQL statement")->required();
    sub->callback([f] {
      Output out(f->json);
      Session s = OpenProject(out, *f);
      // Read-only: queries run beside each other and beside nothing that writes.
      auto r = [&]() -> Result<sql::QueryResult> {
        STRATA_ASSIGN_OR_RETURN(warehouse::Target target, transform::ResolveTarget(s.project));
        warehouse::OpenTarget::Options options;
        options.read_only = true;
        options.on_wait = [&](const std::string& message) { out.Error(message); };
        STRATA_ASSIGN_OR_RETURN(auto open, warehouse::OpenTarget::Open(target, options));
        STRATA_ASSIGN_OR_RETURN(auto engine, open->NewEngine());
        STRATA_ASSIGN_OR_RETURN(auto session, engine->Connect());
        return session->Query(f->sql);
      }();
      if (!r.ok()) Fail(out, r.status());
      if (f->json) {
        json rows = json::array();
        for (const auto& row : r->rows) {
          json o = json::object();
          for (size_t i = 0; i < row.size(); ++i) o[r->columns[i]] = row[i] ? json(*row[i]) : json();
          rows.push_back(o);
        }
        out.Json({{"columns", r->columns}, {"types", r->column_types}, {"rows", rows}});
        return;
      }
      std::string header;
      for (size_t i = 0; i < r->columns.size(); ++i) header += (i ? "\t" : "") + r->columns[i];
      out.Line(header);
      for (const auto& row : r->rows) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) line += (i ? "\t" : "") + (row[i] ? *row[i] : "NULL");
        out.Line(line);
      }
    });
  }
}

namespace {

// "source.table" → (source, table); a usage error otherwise.
std::pair<std::string, std::string> SplitTable(Output& out, const std::string& name) {
  size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) {
    Fail(out, Status::InvalidArgument("expected <source>.<table>, got '" + name + "'"), kExitUsage);
  }
  return {name.substr(0, dot), name.substr(dot + 1)};
}

}  // namespace

void RegisterCollectCommand(CLI::App* app) {
  struct Flags : CommonFlags {
    std::string source, listen, port_file;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = app->add_subcommand(
      "collect", "Serve POST /v1/events for a collector source: acknowledged events land in the lake exactly once");
  AddCommon(sub, f.get());
  sub->add_option("--source", f->source, "The `type: collector` source (default: the project's only one)");
  sub->add_option("--listen", f->listen, "host:port to listen on (default: the source's `listen`, 127.0.0.1:8686)");
  sub->add_option("--port-file", f->port_file, "Write the port listened on to this file once listening");
  sub->callback([f] {
    Output out(f->json);
    Session s = OpenProject(out, *f);
    const SourceConfig* src = nullptr;
    for (const auto& name : s.project.SourceNames()) {
      const SourceConfig* c = s.project.FindSource(name);
      if (c->type != "collector" || (!f->source.empty() && name != f->source)) continue;
      if (src != nullptr)
        Fail(out, Status::InvalidArgument("several collector sources: pick one with --source"), kExitUsage);
      src = c;
    }
    if (src == nullptr) {
      Fail(out,
           Status::InvalidArgument(f->source.empty() ? "no source of `type: collector` in " + s.project.file
                                                     : "no collector source '" + f->source + "' in " + s.project.file),
           kExitUsage);
    }
    auto config = ingest::ParseCollectorSource(s.project, *src);
    if (!config.ok()) Fail(out, config.status(), kExitUsage);
    if (!f->listen.empty()) {
      size_t colon = f->listen.rfind(':');
      if (colon == std::string::npos) Fail(out, Status::InvalidArgument("--listen: expected host:port"), kExitUsage);
      config->options.host = f->listen.substr(0, colon);
      config->options.port = std::atoi(f->listen.c_str() + colon + 1);
    }
    // One writer per source: the collector holds the source's ingest lock while it runs.
    auto lock = FileLock::Acquire(JoinPath(s.project.state_dir, "locks/ingest-" + src->name + ".lock"), false);
    if (!lock.ok())
      Fail(out, Status::Aborted("another strata collect (or ingest) is writing source '" + src->name + "'"));
    SignalStop signals;  // before the server's threads start, so they inherit the mask
    auto collector = ingest::Collector::Open(s.project, *src, *config, s.lake.get());
    if (!collector.ok()) Fail(out, collector.status());
    Status started = (*collector)->Start();
    if (!started.ok()) Fail(out, started);
    if (!f->port_file.empty()) {
      Status written = WriteFileAtomic(f->port_file, std::to_string((*collector)->port()) + "\n");
      if (!written.ok()) Fail(out, written);
    }
    out.Line("strata collect: POST http://" + config->options.host + ":" + std::to_string((*collector)->port()) +
             "/v1/events for " + src->name + "." + config->options.table + " into " + s.lake->store()->uri() +
             " (write-ahead log in " + config->options.wal_dir + "; Ctrl-C lands what it holds and stops)");
    ingest::Collector* c = collector->get();
    CancelScope stop(&signals.token, [c] { c->Interrupt(); });
    Status ran = c->Run();
    c->Stop();
    if (!ran.ok()) Fail(out, ran);
    out.Json({{"ok", true}});
  });
}

void RegisterLakeCommands(CLI::App* app) {
  CLI::App* lake_cmd = app->add_subcommand("lake", "Inspect the lake; set a poisoned batch aside");
  lake_cmd->require_subcommand(1);
  {
    struct Flags : CommonFlags {
      std::string table;
    };
    auto f = std::make_shared<Flags>();
    CLI::App* sub = lake_cmd->add_subcommand("batches", "List committed batches (of one <source>.<table>, or all)");
    sub->alias("ls");
    AddCommon(sub, f.get());
    sub->add_option("table", f->table, "<source>.<table>");
    sub->callback([f] {
      Output out(f->json);
      Session s = OpenProject(out, *f);
      std::vector<std::pair<std::string, std::string>> tables;
      if (f->table.empty()) {
        auto all = s.lake->Tables();
        if (!all.ok()) Fail(out, all.status());
        tables = *all;
      } else {
        tables.push_back(SplitTable(out, f->table));
      }
      json doc = json::array();
      out.Line("table\tbatch\tdate\tfiles\trows\tbytes\tquarantined\tstate");
      for (const auto& [source, table] : tables) {
        auto manifests = s.lake->Manifests(source, table);
        if (!manifests.ok()) Fail(out, manifests.status());
        auto aside = s.lake->SetAsideBatches(source, table);
        if (!aside.ok()) Fail(out, aside.status());
        for (const auto& m : *manifests) {
          int64_t rows = 0, bytes = 0;
          for (const auto& file : m.files) {
            rows += file.rows;
            bytes += file.bytes;
          }
          const bool set_aside = aside->count(m.batch_id) > 0;
          out.Line(source + "." + table + "\t" + m.batch_id + "\t" + m.logical_date + "\t" +
                   std::to_string(m.files.size()) + "\t" + Num(rows) + "\t" + Num(bytes) + "\t" +
                   Num(m.records_quarantined) + "\t" + (set_aside ? "set aside" : "committed"));
          doc.push_back({{"source", source},
                         {"table", table},
                         {"batch_id", m.batch_id},
                         {"date", m.logical_date},
                         {"files", m.files.size()},
                         {"rows", rows},
                         {"bytes", bytes},
                         {"quarantined", m.records_quarantined},
                         {"set_aside", set_aside}});
        }
      }
      out.Json({{"batches", doc}});
    });
  }
  {
    auto f = std::make_shared<CommonFlags>();
    CLI::App* sub = lake_cmd->add_subcommand(
        "verify", "Check every committed file against its manifest (present, size, SHA-256); exit 1 on a problem");
    AddCommon(sub, f.get());
    sub->callback([f] {
      Output out(f->json);
      Session s = OpenProject(out, *f);
      auto report = s.lake->Verify();
      if (!report.ok()) Fail(out, report.status());
      json problems = json::array();
      for (const auto& p : report->problems) {
        out.Line("PROBLEM  " + p.batch + "  " + p.key + ": " + p.reason);
        problems.push_back({{"key", p.key}, {"batch", p.batch}, {"reason", p.reason}});
      }
      out.Line(std::string(report->problems.empty() ? "ok" : "FAILED") + "  " + s.lake->store()->uri() + ": " +
               Num(report->batches) + " batch(es), " + Num(report->files) + " file(s), " + Num(report->bytes) +
               " bytes checked, " + Num(static_cast<int64_t>(report->problems.size())) + " problem(s)");
      out.Json({{"ok", report->problems.empty()},
                {"batches", report->batches},
                {"files", report->files},
                {"bytes", report->bytes},
                {"problems", problems}});
      if (!report->problems.empty()) throw CLI::RuntimeError(kExitFailure);
    });
  }
  {
    struct Flags : CommonFlags {
      bool dry_run = false;
    };
    auto f = std::make_shared<Flags>();
    CLI::App* sub = lake_cmd->add_subcommand(
        "gc",
        "Remove what failed attempts left (files no manifest names, unfinished S3 uploads); never a committed file");
    AddCommon(sub, f.get());
    sub->add_flag("--dry-run", f->dry_run, "Only list what would be removed");
    sub->callback([f] {
      Output out(f->json);
      Session s = OpenProject(out, *f);
      // An ingest in progress looks like a failed attempt: hold every source's ingest lock.
      std::vector<FileLock> locks;
      for (const auto& name : s.project.SourceNames()) {
        auto lock = FileLock::Acquire(JoinPath(s.project.state_dir, "locks/ingest-" + name + ".lock"), false);
        if (!lock.ok()) {
          Fail(out, Status::Aborted("source '" + name + "' is being ingested; run gc when it is done (" +
                                    lock.status().message() + ")"));
        }
        locks.push_back(std::move(*lock));
      }
      auto report = s.lake->CollectGarbage(f->dry_run);
      if (!report.ok()) Fail(out, report.status());
      const std::string verb = f->dry_run ? "would remove" : "removed";
      for (const auto& k : report->removed) out.Line(verb + "  " + k);
      out.Line(verb + " " + Num(static_cast<int64_t>(report->removed.size())) + " file(s) (" + Num(report->bytes) +
               " bytes) and " + Num(report->incomplete_uploads) + " unfinished upload(s) from " +
               s.lake->store()->uri());
      out.Json({{"ok", true},
                {"dry_run", f->dry_run},
                {"removed", report->removed},
                {"bytes", report->bytes},
                {"incomplete_uploads", report->incomplete_uploads}});
    });
  }
  {
    struct Flags : CommonFlags {
      std::string table, batch, reason;
    };
    auto f = std::make_shared<Flags>();
    CLI::App* sub = lake_cmd->add_subcommand(
        "quarantine-batch",
        "Set a committed batch aside so that loads skip it: its files move to quarantine/, with an audit record");
    AddCommon(sub, f.get());
    sub->add_option("table", f->table, "<source>.<table>")->required();
    sub->add_option("batch", f->batch, "Batch id, e.g. b00000012 (see `strata lake batches`)")->required();
    sub->add_option("--reason", f->reason, "Why (kept in the audit record)")->required();
    sub->callback([f] {
      Output out(f->json);
      Session s = OpenProject(out, *f);
      auto [source, table] = SplitTable(out, f->table);
      auto record = s.lake->SetAsideBatch(source, table, f->batch, f->reason);
      if (!record.ok()) Fail(out, record.status(), UsageCode(record.status()));
      int64_t rows = 0;
      for (const auto& m : (*record)["moved"]) rows += m.value("rows", int64_t{0});
      out.Line("set aside batch " + f->batch + " of " + source + "." + table + " (" +
               std::to_string((*record)["moved"].size()) + " file(s), " + Num(rows) +
               " rows): files under quarantine/" + source + "/" + table + "/set_aside/" + f->batch +
               "/, audit record " + lake::SetAsideKey(source, table, f->batch));
      out.Line("later loads skip it; rows already loaded from it stay in the warehouse (raw." +
               warehouse::Warehouse::RelationName(source, table) + ", _lake_file names them)");
      out.Json({{"ok", true}, {"record", *record}});
    });
  }
}

}  // namespace strata::cli
