// The JSON API the web app uses (this list is its documentation), independent of the HTTP
// server so it can be tested on its own.
//
//   GET /api/dashboards                          the dashboards: id, title, description
//   GET /api/dashboards/{id}                     one dashboard's spec: filters, cards, formats
//   GET /api/dashboards/{id}/cards/{card}?f=v    a card's result under the filters given
//                                                (absent: defaults); &format=csv|json downloads
//   GET /api/dashboards/{id}/cards/{card}/sql    the card's SQL (as written, and as bound)
//   GET /api/dashboards/{id}/filters/{f}/values?q=text&other=v
//                                                a category filter's choices (linked filters
//                                                given as parameters)
//   GET /api/publication                         the publication served: version, relations
//   GET /api/embed/{token}                       the dashboard a signed embed token opens
//                                                (serve/embed.h), without the filters it fixes
//   GET /api/embed/{token}/cards/{card}?f=v      a card of it: the token's filter values win
//                                                and cannot be given (400); &format=csv|json
//   GET /api/embed/{token}/filters/{f}/values    choices of a filter the viewer may set
//   GET /api/embed/{token}/publication           the publication's version
//                                                A bad or expired token is 401; embedding is
//                                                off (404) without a secret.
//   POST /api/query {"sql": "...", "limit": 1000}
//                                                the SQL explorer: one read-only statement on
//                                                the publication ({{ ref() }} and
//                                                {{ strata() }} work; no filters), row limit
//                                                and statement timeout as for cards
//   POST /api/query/card {"sql", "id", "title", "viz", "chart"}
//                                                a question as a card for a dashboard file:
//                                                {"yaml": "..."}, checked by running it
//
// Errors are JSON {"error": "..."} with 400 (bad input), 401 (bad embed token), 403 (a
// dashboard not embeddable), 404 (unknown dashboard, card or filter), 409 (nothing published yet), 504 (the query timed
// out) or 500 (a Strata bug, or the engine failed).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "serve/dashboard.h"
#include "serve/publication.h"
#include "serve/system_tables.h"

namespace strata::serve {

struct ApiRequest {
  std::string method = "GET";
  std::string path;                                        // decoded, without the query string
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order (repeats kept)
  std::string body;                                        // POST
  CancelToken* cancel = nullptr;                           // the client went away
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

struct ApiOptions {
  std::string dashboards_dir;  // re-read when its files change
  QueryLimits limits;
  size_t cache_bytes = 64 << 20;  // card results kept, keyed on query, values and data versions
  std::string embed_secret;       // signs embed tokens; "" turns embedding off
};

class Api {
 public:
  // `system` (may be null) answers queries on Strata's own tables ({{ strata('runs') }}).
  Api(Publications* publications, ApiOptions options, SystemTables* system = nullptr);
  ~Api();
  ApiResponse Handle(const ApiRequest& request);

  struct Stats {
    int64_t cache_hits = 0, cache_misses = 0, queries = 0;
  };
  Stats stats() const;

 private:
  class Cache;
  Result<std::shared_ptr<const std::vector<Dashboard>>> Dashboards();
  ApiResponse Card(const Dashboard& d, const std::string& card, const ApiRequest& r, bool sql_only);
  // `defaulted`: filters whose defaults apply when not given (else what is not given is unset).
  ApiResponse FilterValues(const Dashboard& d, const std::string& filter, const ApiRequest& r,
                           const std::set<std::string>& defaulted = {});
  ApiResponse PublicationInfo();
  ApiResponse Embed(const ApiRequest& r, const std::vector<std::string>& seg);
  ApiResponse Explore(const ApiRequest& r, bool as_card);
  // The day a date-range filter's relative ranges end on (its anchor query, cached); nullopt:
  // today.
  Result<std::optional<Date>> AnchorOf(const FilterSpec& f, CancelToken* cancel);
  // Where a query reads: the system tables or the newest publication; null with *error set
  // when it cannot be read (nothing published: 409).
  std::shared_ptr<Publication> SourceFor(const CardSql& sql, ApiResponse* error);

  Publications* publications_;
  SystemTables* system_;
  ApiOptions options_;
  std::unique_ptr<Cache> cache_;
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<Dashboard>> dashboards_;
  std::string dashboards_stamp_;
  Status dashboards_error_;
  Stats stats_;
};

}  // namespace strata::serve
