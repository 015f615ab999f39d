#include "serve/server.h"

#include <dirent.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "core/file.h"
#include "serve/web_assets.h"

namespace strata::serve {

namespace {

constexpr const char* kContentPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors ";

// Sent with everything: no framing by other sites, no MIME sniffing, scripts only from here.
void SecurityHeaders(httplib::Response& res) {
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "same-origin");
  res.set_header("Content-Security-Policy", std::string(kContentPolicy) + "'none'");
}

// An embed page: framed by the origins allowed (any when none are named). Its URL holds the
// token, which no Referer may carry away.
void EmbedHeaders(httplib::Response& res, const std::vector<std::string>& origins) {
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  std::string ancestors;
  for (const auto& o : origins) ancestors += (ancestors.empty() ? "" : " ") + o;
  res.set_header("Content-Security-Policy", std::string(kContentPolicy) + (ancestors.empty() ? "*" : ancestors));
}

// The value of cookie `name` in a Cookie header ("" if absent).
std::string CookieValue(const std::string& header, const std::string& name) {
  size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ';')) ++i;
    size_t eq = header.find('=', i);
    size_t end = header.find(';', i);
    if (end == std::string::npos) end = header.size();
    if (eq != std::string::npos && eq < end && header.compare(i, eq - i, name) == 0) {
      return header.substr(eq + 1, end - eq - 1);
    }
    i = end + 1;
  }
  return "";
}

constexpr const char* kSessionCookie = "strata_session";

void SetJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

bool IsEmbedPage(const std::string& path) { return path.rfind("/embed/", 0) == 0; }

// Pages of the single-page app: every one is index.html, which routes on the path.
bool IsAppPage(const std::string& path) {
  return path == "/" || path == "/explore" || path.rfind("/d/", 0) == 0 || IsEmbedPage(path);
}

// `data` gzip-compressed ("" if zlib fails).
std::string Gzip(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return "";
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : "";
}

// Debian's cpp-httplib is compiled with a listen backlog of 5: connections that arrive
// together beyond that are dropped and retried by the client a second later. listen() again on
// the listening socket (found by its port) raises the backlog.
void RaiseBacklog(int port) {
  for (int fd = 3; fd < 4096; ++fd) {
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) continue;
    sockaddr_storage addr{};
    socklen_t alen = sizeof(addr);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) continue;
    int bound = 0;
    if (addr.ss_family == AF_INET) bound = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (addr.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    if (bound == port) ::listen(fd, SOMAXCONN);
  }
}

// The numeric host and port of a socket address, as cpp-httplib writes them in a Request.
std::pair<std::string, int> HostPort(const sockaddr_storage& addr, socklen_t len) {
  char host[NI_MAXHOST] = "", port[NI_MAXSERV] = "";
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return {"", -1};
  }
  return {host, std::atoi(port)};
}

// Whether `fd` is the connection `req` came on: same peer address and port, same local port.
bool IsConnectionOf(int fd, const httplib::Request& req) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  if (HostPort(addr, len).second != req.local_port) return false;
  len = sizeof(addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  return HostPort(addr, len) == std::make_pair(req.remote_addr, req.remote_port);
}

// The socket of the connection `req` came on (-1 if not found): cpp-httplib does not say, so
// it is looked up among the process's descriptors. A server thread serves one connection at a
// time, so each thread remembers its last answer.
int ConnectionFd(const httplib::Request& req) {
  thread_local int last = -1;
  if (last >= 0 && IsConnectionOf(last, req)) return last;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  const int own = ::dirfd(dir);
  while (dirent* e = ::readdir(dir)) {
    const int fd = std::atoi(e->d_name);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == own) continue;
    if (IsConnectionOf(fd, req)) {
      found = fd;
      break;
    }
  }
  ::closedir(dir);
  return last = found;
}

// Watches the connections of requests whose queries are running: when the client closes its
// connection (the page was left, or its fetch aborted because a filter changed), the request's
// token is cancelled, which interrupts the query and frees its connection for others.
class ClientWatcher {
 public:
  static ClientWatcher& Get() {
    static ClientWatcher* w = new ClientWatcher();  // never destroyed: requests may run until exit
    return *w;
  }
  int Add(int fd, CancelToken* token) {
    std::lock_guard<std::mutex> l(mu_);
    const int id = next_++;
    watched_[id] = {fd, token};
    const uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof(one));
    return id;
  }
  // After it returns the token is not touched again.
  void Remove(int id) {
    std::lock_guard<std::mutex> l(mu_);
    watched_.erase(id);
  }

 private:
  ClientWatcher() : wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    std::thread([this] { Loop(); }).detach();
  }
  void Loop() {
    std::vector<pollfd> fds;
    std::vector<int> ids;
    for (;;) {
      // The set is rebuilt on every wake-up, so descriptors of finished requests drop out.
      fds.assign(1, pollfd{wake_, POLLIN, 0});
      ids.assign(1, -1);
      {
        std::lock_guard<std::mutex> l(mu_);
        for (const auto& [id, w] : watched_) {
          fds.push_back(pollfd{w.first, POLLRDHUP, 0});
          ids.push_back(id);
        }
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents != 0) {
        uint64_t n;
        (void)!::read(wake_, &n, sizeof(n));
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        const short ev = fds[i].revents;
        if (ev == 0) continue;
        bool closed = (ev & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
        if (!closed && (ev & POLLIN) != 0) {
          // Bytes, not a close (a pipelined request): nothing more to learn from this socket.
          char c;
          closed = ::recv(fds[i].fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
        }
        std::lock_guard<std::mutex> l(mu_);
        auto it = watched_.find(ids[i]);
        if (it == watched_.end()) continue;  // the request ended meanwhile
        if (closed && (ev & POLLNVAL) == 0) it->second.second->Cancel("the client closed the connection");
        watched_.erase(it);
      }
    }
  }
  const int wake_;
  std::mutex mu_;
  int next_ = 0;
  std::map<int, std::pair<int, CancelToken*>> watched_;  // id -> (socket, token)
};

// Cancels `token` when the client of `req` goes away while a query of the request runs.
class ClientWatch {
 public:
  ClientWatch(const httplib::Request& req, CancelToken* token) {
    token->OnFirstRegister([this, &req, token] {
      const int fd = ConnectionFd(req);
      if (fd >= 0) id_ = ClientWatcher::Get().Add(fd, token);
    });
  }
  ~ClientWatch() {
    if (id_ >= 0) ClientWatcher::Get().Remove(id_);
  }
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;

 private:
  int id_ = -1;
};

bool IsEmbedApi(const std::string& path) { return path.rfind("/api/embed/", 0) == 0; }

}  // namespace

struct Server::Impl {
  httplib::Server http;
  // Each embedded asset compressed once, on first request (not per request: ECharts is 1 MB).
  std::mutex mu;
  std::map<std::string, std::shared_ptr<const std::string>> gzipped;
  std::shared_ptr<const std::string> Gzipped(const WebAsset& a) {
    std::lock_guard<std::mutex> l(mu);
    auto& slot = gzipped[std::string(a.path)];
    if (!slot) slot = std::make_shared<const std::string>(Gzip(a.data));
    return slot;
  }
};

Server::Server(Api* api, ServerOptions options)
    : impl_(std::make_unique<Impl>()), api_(api), options_(std::move(options)) {}

Server::~Server() { Stop(); }

Status Server::Bind() {
  httplib::Server& http = impl_->http;
  const int threads = std::max(1, options_.threads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(64 * 1024);
  http.set_read_timeout(10, 0);
  http.set_write_timeout(30, 0);
  http.set_keep_alive_max_count(1000);
  // Answers go out at once: with Nagle's algorithm a keep-alive client's next request waits
  // for the delayed ACK of the previous answer (40 ms on Linux).
  http.set_tcp_nodelay(true);

  http.Get(R"(/api/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    SecurityHeaders(res);
    res.set_header("Cache-Control", "no-store");
    // Embeds carry their own credential, the signed token, and need no login.
    if (!IsEmbedApi(req.path) && !Admit(req, res)) return;
    CancelToken cancel;
    ClientWatch watch(req, &cancel);
    ApiRequest r;
    r.method = req.method;
    r.path = req.path;
    r.cancel = &cancel;
    for (const auto& [k, v] : req.params) r.query.emplace_back(k, v);
    ApiResponse out = api_->Handle(r);
    for (const auto& [k, v] : out.headers) res.set_header(k, v);
    res.status = out.status;
    res.set_content(std::move(out.body), out.content_type);
  });
  http.Post(R"(/api/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    SecurityHeaders(res);
    res.set_header("Cache-Control", "no-store");
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
      // Browsers send cross-site forms as text/plain or form data, never as JSON without a
      // preflight the server does not answer.
      SetJson(res, 415, {{"error", "POST bodies are JSON (Content-Type: application/json)"}});
      return;
    }
    if (!Admit(req, res)) return;
    CancelToken cancel;
    ClientWatch watch(req, &cancel);
    ApiRequest r;
    r.method = "POST";
    r.path = req.path;
    r.body = req.body;
    r.cancel = &cancel;
    for (const auto& [k, v] : req.params) r.query.emplace_back(k, v);
    ApiResponse out = api_->Handle(r);
    res.status = out.status;
    res.set_content(std::move(out.body), out.content_type);
  });
  http.Get(R"(/quality(/.*)?)", [this](const httplib::Request& req, httplib::Response& res) { ServeDocs(req, res); });
  http.Get(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    if (IsEmbedPage(req.path)) {
      EmbedHeaders(res, options_.embed_origins);
    } else {
      SecurityHeaders(res);
    }
    const std::string path = IsAppPage(req.path) ? "/index.html" : req.path;
    for (const WebAsset& a : WebAssets()) {
      if (a.path != path) continue;
      if (!options_.web_dir.empty()) {
        // Working on the app: read the file from disk every time.
        auto text = ReadFile(JoinPath(options_.web_dir, std::string(a.path.substr(1))));
        if (text.ok()) {
          res.set_header("Cache-Control", "no-store");
          res.set_content(*text, std::string(a.content_type));
          return;
        }
      }
      const std::string etag = "\"" + std::string(a.sha256.substr(0, 32)) + "\"";
      res.set_header("ETag", etag);
      res.set_header("Cache-Control", "no-cache");
      if (req.get_header_value("If-None-Match") == etag) {
        res.status = 304;
        return;
      }
      // Versioned by content (the ETag): browsers revalidate, and get 304 while it is unchanged.
      // Scripts are sent gzip-compressed once and for all. Their type carries a charset so
      // that cpp-httplib, which matches "application/javascript" exactly, does not compress
      // them again (with brotli, per request: 2 s of CPU for ECharts).
      if (a.content_type.rfind("application/javascript", 0) == 0 &&
          req.get_header_value("Accept-Encoding").find("gzip") != std::string::npos) {
        auto gz = impl_->Gzipped(a);
        if (!gz->empty()) {
          res.set_header("Content-Encoding", "gzip");
          res.set_header("Vary", "Accept-Encoding");
          res.set_content(gz->data(), gz->size(), std::string(a.content_type));
          return;
        }
      }
      res.set_content(a.data.data(), a.data.size(), std::string(a.content_type));
      return;
    }
    res.status = 404;
    res.set_content("{\"error\":\"not found\"}", "application/json");
  });
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    SecurityHeaders(res);
    res.set_content("{\"error\":\"HTTP " + std::to_string(res.status) + "\"}", "application/json");
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    res.status = 500;
    res.set_content(nlohmann::json({{"error", "internal error: " + what}}).dump(), "application/json");
  });

  port_ = options_.port == 0 ? http.bind_to_any_port(options_.host) : options_.port;
  if (options_.port != 0 && !http.bind_to_port(options_.host, options_.port)) port_ = -1;
  if (port_ < 0) {
    return Status::Unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                               " (in use, or not an address of this machine)");
  }
  RaiseBacklog(port_);
  return Status::OK();
}

bool Server::Admit(const httplib::Request& req, httplib::Response& res) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const bool post = req.method == "POST";
  if (options_.users == nullptr) {
    if (req.path == "/api/me") {
      SetJson(res, 200, {{"auth", false}});
      return false;
    }
    if (req.path == "/api/login" || req.path == "/api/logout") {
      SetJson(res, 404, {{"error", "this server has no logins"}});
      return false;
    }
    return true;
  }
  if (req.path == "/api/login") {
    if (!post) {
      SetJson(res, 405, {{"error", "/api/login takes POST"}});
      return false;
    }
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("user") || !body.contains("password") || !body["user"].is_string() ||
        !body["password"].is_string()) {
      SetJson(res, 400, {{"error", "the body is {\"user\": ..., \"password\": ...}"}});
      return false;
    }
    auto token = sessions_.Login(*options_.users, body["user"], body["password"], req.remote_addr, now);
    if (!token.ok()) {
      SetJson(res, token.status().code() == Status::Code::kUnavailable ? 429 : 400,
              {{"error", token.status().message()}});
      return false;
    }
    auto session = sessions_.Find(*token, now);
    res.set_header("Set-Cookie", std::string(kSessionCookie) + "=" + *token + "; Path=/; HttpOnly; SameSite=Strict");
    SetJson(res, 200, {{"user", session->user}, {"role", RoleName(session->role)}, {"csrf", session->csrf}});
    return false;
  }
  const std::string token = CookieValue(req.get_header_value("Cookie"), kSessionCookie);
  std::optional<Session> session = token.empty() ? std::nullopt : sessions_.Find(token, now);
  if (!session) {
    SetJson(res, 401, {{"error", "log in first"}});
    return false;
  }
  if (post && req.get_header_value("X-CSRF-Token") != session->csrf) {
    SetJson(res, 403, {{"error", "missing or wrong X-CSRF-Token"}});
    return false;
  }
  if (req.path == "/api/me") {
    SetJson(res, 200,
            {{"auth", true}, {"user", session->user}, {"role", RoleName(session->role)}, {"csrf", session->csrf}});
    return false;
  }
  if (req.path == "/api/logout") {
    sessions_.Logout(token);
    res.set_header("Set-Cookie", std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    SetJson(res, 200, {{"logged_out", true}});
    return false;
  }
  if (req.path.rfind("/api/query", 0) == 0 && session->role == Role::kViewer) {
    SetJson(res, 403, {{"error", "the SQL explorer is for editors and admins"}});
    return false;
  }
  return true;
}

void Server::ServeDocs(const httplib::Request& req, httplib::Response& res) {
  SecurityHeaders(res);
  if (req.path == "/quality") {  // the pages' links are relative to the folder
    res.status = 302;
    res.set_header("Location", "/quality/");
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  auto page = [&](int status, const std::string& title, const std::string& text) {
    res.status = status;
    res.set_content("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + title +
                        "</title></head><body style=\"font:15px system-ui,sans-serif;margin:40px\"><h1>" + title +
                        "</h1><p>" + text + "</p><p><a href=\"/\">Dashboards</a></p></body></html>",
                    "text/html; charset=utf-8");
  };
  if (options_.users != nullptr) {
    const std::string token = CookieValue(req.get_header_value("Cookie"), kSessionCookie);
    if (token.empty() || !sessions_.Find(token, static_cast<int64_t>(std::time(nullptr)))) {
      page(401, "Log in first", "The data docs show data: <a href=\"/\">log in</a>, then open them again.");
      return;
    }
  }
  std::string rel = req.path.size() > 9 ? req.path.substr(9) : "";  // after "/quality/"
  if (rel.empty()) rel = "index.html";
  // Only the site's own pages: no way out of its folder, nothing but .html.
  const bool safe = rel.find("..") == std::string::npos && rel.find('\\') == std::string::npos && rel[0] != '/' &&
                    rel.size() > 5 && rel.compare(rel.size() - 5, 5, ".html") == 0;
  if (options_.docs_dir.empty() || !safe) {
    page(404, "Not found", "There is no such page of the data docs.");
    return;
  }
  auto text = ReadFile(JoinPath(options_.docs_dir, rel));
  if (!text.ok()) {
    if (rel == "index.html") {
      page(404, "No data docs yet",
           "Data docs are written when a checkpoint runs (a pipeline's quality task or publish gate, or "
           "<code>strata quality run NAME</code>).");
    } else {
      page(404, "Not found", "There is no such page of the data docs.");
    }
    return;
  }
  res.set_content(*text, "text/html; charset=utf-8");
}

Status Server::Run() {
  if (!impl_->http.listen_after_bind()) return Status::IOError("the server stopped accepting connections");
  return Status::OK();
}

void Server::Stop() {
  if (impl_) impl_->http.stop();
}

}  // namespace strata::serve
