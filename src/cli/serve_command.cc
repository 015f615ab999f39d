// strata serve: the dashboards of a project in a browser.
#include <arpa/inet.h>

#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/signals.h"
#include "core/file.h"
#include "core/project.h"
#include "serve/api.h"
#include "serve/server.h"
#include "serve/system_tables.h"
#include "serve/validate.h"
#include "transform/loader.h"

namespace strata::cli {

namespace {

struct ServeFlags {
  std::string project = ".";
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 64;  // connections served at once (each keep-alive connection holds one)
  int queries = 0;   // queries run at once (0: the number of cores)
  std::string schema = "analytics";
  std::string web_dir;
  std::string port_file;
};

// Whether `host` is a loopback address (only this machine can connect).
bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

struct ValidateFlags {
  std::string project = ".";
  std::string schema = "analytics";
  bool json = false;
};

void RegisterDashboardsCommand(CLI::App* app) {
  CLI::App* group = app->add_subcommand("dashboards", "Check the project's dashboards (dashboards/*.yml)");
  group->require_subcommand(1);
  auto f = std::make_shared<ValidateFlags>();
  CLI::App* sub = group->add_subcommand(
      "validate", "Check every dashboard: files, filters, models, and that each query runs on what is published");
  sub->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  sub->add_option("--schema", f->schema, "The published schema the dashboards read")->capture_default_str();
  sub->add_flag("--json", f->json, "Print one JSON document for machines");
  sub->callback([f] {
    Output out(f->json);
    auto project = Project::Load(f->project);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    const std::string dir = JoinPath(project->dir, "dashboards");
    auto dashboards = serve::LoadDashboards(dir);
    if (!dashboards.ok()) Fail(out, dashboards.status(), kExitUsage);
    serve::ValidateOptions options;
    std::unique_ptr<transform::LoadedProject> dbt;
    if (!project->transform_dir.empty()) {
      transform::LoadOptions lo;
      lo.project_dir = project->transform_dir;
      auto loaded = transform::LoadedProject::Load(lo);
      if (!loaded.ok()) Fail(out, loaded.status().WithContext("reading the dbt project"));
      dbt = std::move(*loaded);
      options.model_exists = [&dbt](const std::string& m) { return dbt->manifest.FindRefable(m) != nullptr; };
    }
    std::vector<std::string> notes;
    auto publications = serve::Publications::ForProject(*project, f->schema, 1);
    std::shared_ptr<serve::Publication> pub;
    if (publications.ok()) {
      auto current = (*publications)->Current();
      if (current.ok()) pub = *current;
      if (!current.ok()) notes.push_back("cannot read the publication: " + current.status().message());
    } else {
      notes.push_back(publications.status().message());
    }
    if (pub == nullptr) notes.push_back("nothing is published yet: the SQL of published models was not run");
    options.publication = pub.get();
    serve::SystemTables system_tables(*project, 1);
    auto system = system_tables.Current();
    if (system.ok()) options.system = system->get();
    nlohmann::json doc = nlohmann::json::array();
    int problems = 0;
    for (const auto& d : *dashboards) {
      auto found = serve::Validate(d, options);
      problems += static_cast<int>(found.size());
      nlohmann::json list = nlohmann::json::array();
      for (const auto& p : found) {
        list.push_back({{"where", p.where}, {"message", p.message}});
        out.Error(p.where + ": " + p.message);
      }
      doc.push_back({{"dashboard", d.id}, {"file", d.file}, {"cards", d.cards.size()}, {"problems", list}});
      if (found.empty()) out.Line("ok  " + d.id + " (" + std::to_string(d.cards.size()) + " cards)");
    }
    for (const auto& n : notes) out.Line("note: " + n);
    if (f->json) out.Json({{"ok", problems == 0}, {"dashboards", doc}, {"notes", notes}});
    if (problems > 0) {
      if (!f->json) out.Error(std::to_string(problems) + " problem(s) in " + dir);
      throw CLI::RuntimeError(kExitFailure);
    }
  });
}

}  // namespace

void RegisterServeCommand(CLI::App* app) {
  RegisterDashboardsCommand(app);
  auto f = std::make_shared<ServeFlags>();
  CLI::App* sub = app->add_subcommand("serve", "Serve the project's dashboards (dashboards/*.yml) and their API");
  sub->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  sub->add_option("--host", f->host, "Address to listen on")->capture_default_str();
  sub->add_option("--port", f->port, "Port to listen on (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  sub->add_option("--threads", f->threads, "Connections served at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  sub->add_option("--queries", f->queries, "Queries run at once (default: the number of cores)")
      ->check(CLI::Range(0, 256));
  sub->add_option("--schema", f->schema, "The published schema the dashboards read")->capture_default_str();
  sub->add_option("--port-file", f->port_file, "Write the port to this file once listening (with --port 0)");
  sub->add_option("--web-dir", f->web_dir, "Serve the web app's files from this folder (to work on them)");
  sub->callback([f] {
    Output out(false);
    auto project = Project::Load(f->project);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    if (!IsLoopback(f->host)) {
      Fail(out,
           Status::InvalidArgument("strata serve has no logins yet, so it listens only on loopback addresses "
                                   "(127.0.0.1, ::1); '" +
                                   f->host + "' would let anyone on the network read the dashboards"),
           kExitUsage);
    }
    const int queries =
        f->queries > 0 ? f->queries : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
    auto publications = serve::Publications::ForProject(*project, f->schema, queries);
    if (!publications.ok()) Fail(out, publications.status(), UsageCode(publications.status()));
    serve::ApiOptions api_options;
    api_options.dashboards_dir = JoinPath(project->dir, "dashboards");
    serve::SystemTables system(*project, queries);
    serve::Api api(publications->get(), api_options, &system);
    serve::ServerOptions options;
    options.host = f->host;
    options.port = f->port;
    options.threads = f->threads;
    options.web_dir = f->web_dir;
    SignalStop signals;  // before the server's threads start, so they inherit the mask
    serve::Server server(&api, options);
    Status bound = server.Bind();
    if (!bound.ok()) Fail(out, bound);
    CancelScope stop(&signals.token, [&server] { server.Stop(); });
    if (!f->port_file.empty()) {
      Status written = WriteFileAtomic(f->port_file, std::to_string(server.port()) + "\n");
      if (!written.ok()) Fail(out, written);
    }
    const std::string host = f->host.find(':') != std::string::npos ? "[" + f->host + "]" : f->host;
    out.Line("strata serve: http://" + host + ":" + std::to_string(server.port()) + "/ (dashboards in " +
             api_options.dashboards_dir + "; data from " + (*publications)->Describe() + "; Ctrl-C stops)");
    Status s = server.Run();
    if (!s.ok() && !signals.token.cancelled()) Fail(out, s);
  });
}

}  // namespace strata::cli
