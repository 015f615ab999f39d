// strata serve: the dashboards of a project in a browser.
#include <arpa/inet.h>

#include <memory>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/signals.h"
#include "core/file.h"
#include "core/project.h"
#include "serve/api.h"
#include "serve/server.h"
#include "serve/system_tables.h"

namespace strata::cli {

namespace {

struct ServeFlags {
  std::string project = ".";
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 8;
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

}  // namespace

void RegisterServeCommand(CLI::App* app) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* sub = app->add_subcommand("serve", "Serve the project's dashboards (dashboards/*.yml) and their API");
  sub->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  sub->add_option("--host", f->host, "Address to listen on")->capture_default_str();
  sub->add_option("--port", f->port, "Port to listen on (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  sub->add_option("--threads", f->threads, "Requests served at once")->capture_default_str()->check(CLI::Range(1, 256));
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
    auto publications = serve::Publications::ForProject(*project, f->schema, f->threads);
    if (!publications.ok()) Fail(out, publications.status(), UsageCode(publications.status()));
    serve::ApiOptions api_options;
    api_options.dashboards_dir = JoinPath(project->dir, "dashboards");
    serve::SystemTables system(*project, 2);
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
