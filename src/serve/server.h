// `strata serve`'s HTTP server: the web app (embedded files) and the JSON API (api.h) on one
// port, bound to 127.0.0.1 unless told otherwise.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "serve/api.h"
#include "serve/auth.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace strata::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see port())
  // Connections served at once: a keep-alive connection holds a thread while it is open, so
  // this is well above the queries that can run at once (Publications' connections).
  int threads = 64;
  // Serve the web app's files from this folder instead of the embedded ones (to work on them
  // without rebuilding). "" = embedded.
  std::string web_dir;
  // Logins (auth.h): with users, every /api/ request but /api/login and /api/me needs a
  // session cookie, every POST its CSRF token, and the explorer the editor role. Not owned;
  // null: no logins (loopback only).
  const Users* users = nullptr;
  // Embeds (/embed/<token>, serve/embed.h) may be framed by pages of these origins
  // ("https://shop.example.com"); empty: by any page. Every other page refuses framing.
  std::vector<std::string> embed_origins;
  // The data docs (quality/docs.h), served under /quality/ ("" = none). With logins, only to
  // a signed-in user: they show data values.
  std::string docs_dir;
};

class Server {
 public:
  Server(Api* api, ServerOptions options);
  ~Server();
  // Binds the port; then Run() serves until Stop().
  Status Bind();
  int port() const { return port_; }
  Status Run();
  void Stop();  // from any thread, or a signal handler's thread

 private:
  // Logins: answers /api/login, /api/logout and /api/me itself, and refuses requests without
  // a session, POSTs without the CSRF token and viewers in the explorer (false: answered).
  bool Admit(const httplib::Request& req, httplib::Response& res);
  // GET /quality/...: a page of the data docs.
  void ServeDocs(const httplib::Request& req, httplib::Response& res);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Api* api_;
  ServerOptions options_;
  Sessions sessions_;
  int port_ = 0;
};

}  // namespace strata::serve
