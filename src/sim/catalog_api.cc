#include "sim/catalog_api.h"

// Debian's libcpp-httplib is compiled with these; the classes' layout depends on them, so every
// translation unit that includes httplib.h must define them too.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/date.h"
#include "db/sqlite.h"
#include "sim/internal/vocab.h"
#include "sim/rng.h"
#include "sim/shop_simulator.h"

namespace strata::sim {
namespace {

using db::SqliteDb;
using db::SqliteStmt;
using Json = nlohmann::ordered_json;

constexpr int64_t kDefaultLimit = 100;
constexpr int64_t kMaxLimit = 1000;

struct ApiError {
  int status;
  std::string code;
  std::string message;
};

void SendJson(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void SendError(httplib::Response& res, const ApiError& e) {
  SendJson(res, e.status, Json{{"error", {{"code", e.code}, {"message", e.message}}}});
}

ApiError BadRequest(std::string message) { return {400, "invalid_argument", std::move(message)}; }

// A positive integer parameter; `fallback` when absent.
bool ParsePositive(const httplib::Request& req, const char* name, int64_t fallback, int64_t max, int64_t* out,
                   ApiError* err) {
  if (!req.has_param(name)) {
    *out = fallback;
    return true;
  }
  std::string v = req.get_param_value(name);
  int64_t n = 0;
  bool ok = !v.empty() && v.size() <= 12;
  for (char c : v) {
    if (c < '0' || c > '9')
      ok = false;
    else
      n = n * 10 + (c - '0');
  }
  if (!ok || n < 1) {
    *err = BadRequest(std::string(name) + " must be a positive integer, got '" + v + "'");
    return false;
  }
  *out = std::min(n, max);
  return true;
}

std::string HexEncode(const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool HexDecode(const std::string& s, std::string* out) {
  if (s.size() % 2 != 0) return false;
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = val(s[i]), lo = val(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

std::string EncodeCursor(const std::string& updated_at, int64_t id) {
  return HexEncode("v1|" + updated_at + "|" + std::to_string(id));
}

bool DecodeCursor(const std::string& cursor, std::string* updated_at, int64_t* id) {
  std::string raw;
  if (!HexDecode(cursor, &raw) || raw.rfind("v1|", 0) != 0) return false;
  size_t bar = raw.rfind('|');
  if (bar <= 3) return false;
  Result<int64_t> ts = ParseTimestamp(raw.substr(3, bar - 3));
  if (!ts.ok()) return false;
  std::string digits = raw.substr(bar + 1);
  if (digits.empty() || digits.size() > 18) return false;
  int64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  *updated_at = FormatTimestamp(*ts);
  *id = n;
  return true;
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

constexpr const char* kProductColumns =
    "product_id, sku, name, category, brand, unit_price, is_active, created_at, updated_at";

Json ProductJson(const SqliteStmt& row) {
  using namespace internal;  // vocabularies
  const int64_t id = row.ColumnInt(0);
  const std::string sku(row.ColumnText(1));
  const std::string name(row.ColumnText(2));
  const std::string category(row.ColumnText(3));
  Rng rng = Rng::For(Fnv1a(sku), 0xCA7A, static_cast<uint64_t>(id));
  std::string_view color = kColors[rng.Below(kColors.size())];
  std::string_view material = kMaterials[rng.Below(kMaterials.size())];
  Json size = nullptr;
  if (category == "apparel" || category == "sports") size = kSizes[rng.Below(kSizes.size())];
  Json rating = nullptr;
  if (!rng.Chance(0.15)) rating = static_cast<double>(rng.Range(25, 50)) / 10.0;
  Json tags = Json::array();
  tags.push_back(category);
  if (rng.Chance(0.3)) tags.push_back("bestseller");
  if (rng.Chance(0.2)) tags.push_back("eco");
  Json brand = nullptr;
  if (!row.ColumnIsNull(4)) brand = std::string(row.ColumnText(4));
  std::string description = "The " + name + " is a " + std::string(kAdjectives[rng.Below(kAdjectives.size())]) +
                            " pick in " + category + ", made of " + std::string(material) + " in " +
                            std::string(color) + ".";
  return Json{{"id", id},
              {"sku", sku},
              {"name", name},
              {"category", category},
              {"brand", brand},
              {"price", static_cast<double>(row.ColumnCents(5)) / 100.0},
              {"currency", "USD"},
              {"description", description},
              {"rating", rating},
              {"attributes",
               {{"color", color},
                {"size", size},
                {"material", material},
                {"dimensions",
                 {{"width_cm", rng.Range(5, 120)}, {"height_cm", rng.Range(2, 80)}, {"depth_cm", rng.Range(1, 60)}}},
                {"tags", tags}}},
              {"is_active", row.ColumnInt(6) != 0},
              {"created_at", std::string(row.ColumnText(7))},
              {"updated_at", std::string(row.ColumnText(8))}};
}

}  // namespace

struct CatalogApiServer::Impl {
  ApiOptions options;
  std::string db_path;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  bool started = false;
  bool used = false;  // an httplib::Server cannot be started twice

  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> product_requests{0};
  std::atomic<int64_t> faults_503_first{0};
  std::atomic<int64_t> faults_429{0};
  std::atomic<int64_t> faults_5xx{0};
  std::atomic<int64_t> faults_slow{0};

  // Applies the fault plan to product request number `n`; true if the answer was a fault.
  bool InjectFault(int64_t n, httplib::Response& res) {
    const FaultOptions& f = options.faults;
    if (n < f.fail_first_n) {
      ++faults_503_first;
      SendError(res, {503, "unavailable", "service warming up (injected fault)"});
      return true;
    }
    Rng rng = Rng::For(f.seed, 0xFA17, static_cast<uint64_t>(n));
    double u = rng.Uniform();
    if (u < f.rate_429) {
      ++faults_429;
      res.set_header("Retry-After", std::to_string(f.retry_after_s));
      SendError(res, {429, "rate_limited", "too many requests (injected fault)"});
      return true;
    }
    if (u < f.rate_429 + f.rate_5xx) {
      ++faults_5xx;
      static constexpr int kCodes[] = {500, 502, 503};
      SendError(res, {kCodes[rng.Below(3)], "server_error", "internal error (injected fault)"});
      return true;
    }
    if (rng.Uniform() < f.rate_slow) {
      ++faults_slow;
      std::this_thread::sleep_for(std::chrono::milliseconds(f.slow_ms));
    }
    return false;
  }

  void HandleProducts(const httplib::Request& req, httplib::Response& res) {
    const int64_t n = product_requests++;
    if (InjectFault(n, res)) return;
    ApiError err;
    std::string since;  // "" = everything (every timestamp string is greater)
    if (req.has_param("updated_since")) {
      std::string v = req.get_param_value("updated_since");
      Result<int64_t> ts = ParseTimestamp(v);
      if (!ts.ok()) {
        return SendError(res, BadRequest("updated_since must be 'YYYY-MM-DD HH:MM:SS' or "
                                         "'YYYY-MM-DDTHH:MM:SS[Z]', got '" +
                                         v + "'"));
      }
      since = FormatTimestamp(*ts);
    }
    const bool paged = req.has_param("page") || req.has_param("per_page");
    if (paged && req.has_param("cursor")) {
      return SendError(res, BadRequest("use either cursor/limit or page/per_page, not both"));
    }
    if (paged && req.has_param("limit")) {
      return SendError(res, BadRequest("limit does not apply to page/per_page pagination"));
    }
    Result<SqliteDb> db = SqliteDb::Open(db_path, /*read_only=*/true, /*create=*/false);
    if (!db.ok()) return SendError(res, {503, "unavailable", db.status().message()});

    auto fail = [&](const Status& s) { SendError(res, {500, "internal", s.message()}); };
    Json data = Json::array();
    if (paged) {
      int64_t page, per_page;
      if (!ParsePositive(req, "page", 1, 1000000000, &page, &err) ||
          !ParsePositive(req, "per_page", kDefaultLimit, kMaxLimit, &per_page, &err)) {
        return SendError(res, err);
      }
      Result<SqliteStmt> count = db->Prepare("SELECT COUNT(*) FROM products WHERE updated_at > ?1");
      if (!count.ok()) return fail(count.status());
      count->BindText(1, since);
      Result<bool> row = count->Step();
      if (!row.ok()) return fail(row.status());
      const int64_t total = count->ColumnInt(0);
      Result<SqliteStmt> q = db->Prepare(std::string("SELECT ") + kProductColumns +
                                         " FROM products WHERE updated_at > ?1"
                                         " ORDER BY updated_at, product_id LIMIT ?2 OFFSET ?3");
      if (!q.ok()) return fail(q.status());
      q->BindText(1, since);
      q->BindInt(2, per_page);
      q->BindInt(3, (page - 1) * per_page);
      for (;;) {
        Result<bool> r = q->Step();
        if (!r.ok()) return fail(r.status());
        if (!*r) break;
        data.push_back(ProductJson(*q));
      }
      return SendJson(res, 200,
                      Json{{"data", std::move(data)},
                           {"page", page},
                           {"per_page", per_page},
                           {"total_pages", (total + per_page - 1) / per_page},
                           {"total", total}});
    }

    int64_t limit;
    if (!ParsePositive(req, "limit", kDefaultLimit, kMaxLimit, &limit, &err)) {
      return SendError(res, err);
    }
    std::string after_ts;  // keyset position: after (after_ts, after_id)
    int64_t after_id = 0;
    if (req.has_param("cursor")) {
      if (!DecodeCursor(req.get_param_value("cursor"), &after_ts, &after_id)) {
        return SendError(res, BadRequest("invalid cursor"));
      }
    }
    Result<SqliteStmt> q =
        db->Prepare(std::string("SELECT ") + kProductColumns +
                    " FROM products WHERE updated_at > ?1 AND (updated_at > ?2 OR (updated_at = ?2 AND "
                    "product_id > ?3)) ORDER BY updated_at, product_id LIMIT ?4");
    if (!q.ok()) return fail(q.status());
    q->BindText(1, since);
    q->BindText(2, after_ts);
    q->BindInt(3, after_id);
    q->BindInt(4, limit + 1);
    std::string last_ts;
    int64_t last_id = 0;
    bool more = false;
    for (;;) {
      Result<bool> r = q->Step();
      if (!r.ok()) return fail(r.status());
      if (!*r) break;
      if (static_cast<int64_t>(data.size()) == limit) {
        more = true;
        break;
      }
      last_ts = std::string(q->ColumnText(8));
      last_id = q->ColumnInt(0);
      data.push_back(ProductJson(*q));
    }
    Json next = nullptr;
    if (more) next = EncodeCursor(last_ts, last_id);
    SendJson(res, 200, Json{{"data", std::move(data)}, {"next_cursor", next}});
  }
};

CatalogApiServer::CatalogApiServer() : impl_(std::make_unique<Impl>()) {}

CatalogApiServer::~CatalogApiServer() { Stop(); }

Status CatalogApiServer::Start(const ApiOptions& options) {
  Impl& m = *impl_;
  if (m.used) return Status::Internal("the catalog API server was already started");
  const FaultOptions& f = options.faults;
  for (double r : {f.rate_429, f.rate_5xx, f.rate_slow}) {
    if (!std::isfinite(r) || r < 0 || r > 1) {
      return Status::InvalidArgument("fault rates must be between 0 and 1");
    }
  }
  if (f.rate_429 + f.rate_5xx > 1) {
    return Status::InvalidArgument("the 429 and 5xx fault rates must not add up to more than 1");
  }
  if (f.retry_after_s < 0 || f.slow_ms < 0 || f.fail_first_n < 0) {
    return Status::InvalidArgument("retry-after, slow-ms and fail-first must not be negative");
  }
  if (options.port < 0 || options.port > 65535) {
    return Status::InvalidArgument("port must be between 0 and 65535");
  }
  m.options = options;
  m.db_path = ShopSimulator::DbPath(options.out_dir);
  std::error_code ec;
  if (!std::filesystem::exists(m.db_path, ec)) {
    return Status::NotFound("no simulation in '" + options.out_dir + "' (" + m.db_path + " does not exist)");
  }

  httplib::Server& s = m.server;
  s.set_keep_alive_timeout(1);
  s.set_logger([&m](const httplib::Request&, const httplib::Response&) { ++m.requests; });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    SendError(res, {500, "internal", "unexpected error"});
  });
  s.Get("/health", [](const httplib::Request&, httplib::Response& res) { SendJson(res, 200, Json{{"status", "ok"}}); });
  s.Get("/v1/products", [&m](const httplib::Request& req, httplib::Response& res) { m.HandleProducts(req, res); });
  s.Get(".*", [](const httplib::Request& req, httplib::Response& res) {
    SendError(res, {404, "not_found", "no such endpoint: " + req.path});
  });

  int port = options.port;
  if (port == 0) {
    port = s.bind_to_any_port(options.host);
  } else if (!s.bind_to_port(options.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return Status::IOError("cannot listen on " + options.host + ":" + std::to_string(options.port));
  }
  m.port = port;
  m.started = true;
  m.used = true;
  m.thread = std::thread([&m] { m.server.listen_after_bind(); });
  // stop() only works once the accept loop runs.
  for (int i = 0; i < 10000 && !s.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!s.is_running()) {
    Stop();
    return Status::IOError("the catalog API server did not start");
  }
  return Status::OK();
}

int CatalogApiServer::port() const { return impl_->started ? impl_->port : 0; }

void CatalogApiServer::Stop() {
  Impl& m = *impl_;
  if (!m.started) return;
  m.server.stop();
  if (m.thread.joinable()) m.thread.join();
  m.started = false;
}

ApiStats CatalogApiServer::stats() const {
  const Impl& m = *impl_;
  ApiStats s;
  s.requests = m.requests.load();
  s.product_requests = m.product_requests.load();
  s.faults_503_first = m.faults_503_first.load();
  s.faults_429 = m.faults_429.load();
  s.faults_5xx = m.faults_5xx.load();
  s.faults_slow = m.faults_slow.load();
  return s;
}

}  // namespace strata::sim
