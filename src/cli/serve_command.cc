// strata serve: the dashboards of a project in a browser.
#include <arpa/inet.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/signals.h"
#include "core/file.h"
#include "core/project.h"
#include "serve/api.h"
#include "serve/auth.h"
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
  bool auth = false;
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

struct UsersFlags {
  std::string project = ".";
  std::string name;
  std::string role = "viewer";
};

// strata users add | list | remove: who may log in to `strata serve` (serve/auth.h).
void RegisterUsersCommand(CLI::App* app) {
  CLI::App* group = app->add_subcommand("users", "Who may log in to strata serve (<state_dir>/users.json)");
  group->require_subcommand(1);
  auto f = std::make_shared<UsersFlags>();
  auto users_path = [](Output& out, const UsersFlags& flags) {
    auto project = Project::Load(flags.project);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    return JoinPath(project->state_dir, "users.json");
  };
  auto load = [](Output& out, const std::string& path) {
    auto users = serve::Users::Load(path);
    if (!users.ok()) Fail(out, users.status());
    return std::move(*users);
  };
  CLI::App* add = group->add_subcommand(
      "add", "Add a user, or set their role and password; the password comes from $STRATA_USER_PASSWORD or stdin");
  add->add_option("name", f->name, "The user's name")->required();
  add->add_option("--role", f->role, "viewer, editor (also the SQL explorer) or admin")->capture_default_str();
  add->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  add->callback([f, users_path, load] {
    Output out(false);
    auto role = serve::ParseRole(f->role);
    if (!role.ok()) Fail(out, role.status(), kExitUsage);
    std::string password;
    if (const char* env = std::getenv("STRATA_USER_PASSWORD"); env != nullptr) {
      password = env;
    } else {
      std::getline(std::cin, password);
      if (!password.empty() && password.back() == '\r') password.pop_back();
    }
    const std::string path = users_path(out, *f);
    serve::Users users = load(out, path);
    Status set = users.Set(f->name, *role, password);
    if (!set.ok()) Fail(out, set, UsageCode(set));
    Status saved = users.Save(path);
    if (!saved.ok()) Fail(out, saved);
    out.Line("user " + f->name + " (" + f->role + ") saved in " + path);
  });
  CLI::App* list = group->add_subcommand("list", "The users and their roles");
  list->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  list->callback([f, users_path, load] {
    Output out(false);
    serve::Users users = load(out, users_path(out, *f));
    for (const auto& u : users.list()) out.Line(u.name + "\t" + serve::RoleName(u.role));
  });
  CLI::App* remove = group->add_subcommand("remove", "Remove a user");
  remove->add_option("name", f->name, "The user's name")->required();
  remove->add_option("-p,--project", f->project, "Project file or directory holding strata.yml")->capture_default_str();
  remove->callback([f, users_path, load] {
    Output out(false);
    const std::string path = users_path(out, *f);
    serve::Users users = load(out, path);
    if (!users.Remove(f->name)) Fail(out, Status::NotFound("no user '" + f->name + "' in " + path), kExitUsage);
    Status saved = users.Save(path);
    if (!saved.ok()) Fail(out, saved);
    out.Line("user " + f->name + " removed");
  });
}

}  // namespace

void RegisterServeCommand(CLI::App* app) {
  RegisterUsersCommand(app);
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
  sub->add_flag("--auth", f->auth,
                "Require logins (users from `strata users add`) also on loopback; on by itself on other addresses");
  sub->add_option("--port-file", f->port_file, "Write the port to this file once listening (with --port 0)");
  sub->add_option("--web-dir", f->web_dir, "Serve the web app's files from this folder (to work on them)");
  sub->callback([f] {
    Output out(false);
    auto project = Project::Load(f->project);
    if (!project.ok()) Fail(out, project.status(), UsageCode(project.status()));
    // Beyond loopback, only with logins.
    const std::string users_file = JoinPath(project->state_dir, "users.json");
    std::optional<serve::Users> users;
    if (f->auth || !IsLoopback(f->host)) {
      auto loaded = serve::Users::Load(users_file);
      if (!loaded.ok()) Fail(out, loaded.status());
      if (loaded->list().empty()) {
        Fail(out,
             Status::InvalidArgument(std::string(f->auth ? "--auth" : "listening on '" + f->host + "'") +
                                     " needs logins, and " + users_file +
                                     " has no users: add one with `strata users add NAME --role admin`"),
             kExitUsage);
      }
      users = std::move(*loaded);
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
    options.users = users ? &*users : nullptr;
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
    out.Line("strata serve: http://" + host + ":" + std::to_string(server.port()) + "/ (" +
             (users ? "logins of " + std::to_string(users->list().size()) + " user(s); " : std::string()) +
             "dashboards in " + api_options.dashboards_dir + "; data from " + (*publications)->Describe() +
             "; Ctrl-C stops)");
    Status s = server.Run();
    if (!s.ok() && !signals.token.cancelled()) Fail(out, s);
  });
}

}  // namespace strata::cli
