#include "serve/api.h"

#include <ctime>
#include <filesystem>
#include <list>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/file.h"
#include "core/strings.h"
#include "db/cell_json.h"
#include "serve/embed.h"

namespace strata::serve {

namespace {

using nlohmann::json;

ApiResponse Json(int status, const json& body) {
  ApiResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

ApiResponse Error(int status, const std::string& message) { return Json(status, {{"error", message}}); }

// The HTTP status of an error while answering.
ApiResponse ErrorOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument:
      return Error(400, s.message());
    case Status::Code::kNotFound:
      return Error(404, s.message());
    case Status::Code::kAborted:
      return Error(504, s.message());
    case Status::Code::kUnavailable:
      return Error(503, s.message());
    default:
      return Error(500, s.message());
  }
}

using sql::CellJson;

json ResultJson(const QueryOutput& out) {
  json columns = json::array();
  for (size_t i = 0; i < out.result.columns.size(); ++i) {
    columns.push_back({{"name", out.result.columns[i]}, {"type", out.result.column_types[i]}});
  }
  json rows = json::array();
  for (const auto& row : out.result.rows) {
    json r = json::array();
    for (size_t i = 0; i < row.size(); ++i) r.push_back(CellJson(row[i], out.result.column_types[i]));
    rows.push_back(std::move(r));
  }
  return {{"columns", columns}, {"rows", rows}, {"truncated", out.truncated}, {"seconds", out.seconds}};
}

std::string CsvField(const sql::Cell& c) {
  if (!c) return "";
  if (c->find_first_of(",\"\r\n") == std::string::npos) return *c;
  std::string out = "\"";
  for (char ch : *c) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

// A card's answer: its rows under the filters, and under the previous period when compared.
struct CardResult {
  QueryOutput current;
  std::optional<QueryOutput> previous;
  std::string json_body;  // the API's answer, made once
};

// Splits "/a/b/c" into {"a", "b", "c"}.
std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

// Least-recently-used answers within a byte budget.
class Api::Cache {
 public:
  explicit Cache(size_t budget) : budget_(budget) {}
  std::shared_ptr<const CardResult> Get(const std::string& key) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->value;
  }
  void Put(const std::string& key, std::shared_ptr<const CardResult> value) {
    const size_t size = key.size() + value->json_body.size() * 2 + 256;
    if (size > budget_ / 4) return;  // one huge answer would evict everything
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      used_ -= it->second->size;
      lru_.erase(it->second);
      index_.erase(it);
    }
    lru_.push_front({key, std::move(value), size});
    index_[key] = lru_.begin();
    used_ += size;
    while (used_ > budget_ && !lru_.empty()) {
      used_ -= lru_.back().size;
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
  }

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const CardResult> value;
    size_t size;
  };
  std::mutex mu_;
  size_t budget_;
  size_t used_ = 0;
  std::list<Entry> lru_;
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

Api::Api(Publications* publications, ApiOptions options, SystemTables* system)
    : publications_(publications),
      system_(system),
      options_(std::move(options)),
      cache_(std::make_unique<Cache>(options_.cache_bytes)) {}

Api::~Api() = default;

Api::Stats Api::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

Result<std::shared_ptr<const std::vector<Dashboard>>> Api::Dashboards() {
  // Files change while `strata serve` runs (dashboards as code): reload when any did.
  std::string stamp;
  std::error_code ec;
  if (std::filesystem::is_directory(options_.dashboards_dir, ec)) {
    std::vector<std::string> entries;
    for (const auto& e : std::filesystem::directory_iterator(options_.dashboards_dir, ec)) {
      entries.push_back(e.path().filename().string() + ":" + FileStamp(e.path().string()));
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& e : entries) stamp += e + "\n";
  }
  std::lock_guard<std::mutex> l(mu_);
  if (dashboards_ && stamp == dashboards_stamp_) {
    if (!dashboards_error_.ok()) return dashboards_error_;
    return dashboards_;
  }
  auto loaded = LoadDashboards(options_.dashboards_dir);
  dashboards_stamp_ = stamp;
  if (!loaded.ok()) {
    dashboards_error_ = loaded.status();
    dashboards_ = std::make_shared<const std::vector<Dashboard>>();
    return dashboards_error_;
  }
  dashboards_error_ = Status::OK();
  dashboards_ = std::make_shared<const std::vector<Dashboard>>(std::move(*loaded));
  return dashboards_;
}

ApiResponse Api::Handle(const ApiRequest& r) {
  const std::vector<std::string> seg = Segments(r.path);
  if (seg.empty() || seg[0] != "api") return Error(404, "no such API path: " + r.path);
  if (seg.size() >= 2 && seg[1] == "query" && seg.size() <= 3 && (seg.size() == 2 || seg[2] == "card")) {
    if (r.method != "POST") return Error(405, r.path + " takes POST with a JSON body");
    return Explore(r, seg.size() == 3);
  }
  if (r.method != "GET" && r.method != "HEAD") return Error(405, r.method + " is not allowed on " + r.path);
  if (seg.size() == 2 && seg[1] == "publication") return PublicationInfo();
  if (seg.size() >= 2 && seg[1] == "embed") return Embed(r, seg);
  if (seg.size() < 2 || seg[1] != "dashboards") return Error(404, "no such API path: " + r.path);
  auto dashboards = Dashboards();
  if (!dashboards.ok()) return Error(500, "the dashboard files have an error: " + dashboards.status().message());
  if (seg.size() == 2) {
    json list = json::array();
    for (const auto& d : **dashboards) {
      list.push_back({{"id", d.id}, {"title", d.title}, {"description", d.description}, {"cards", d.cards.size()}});
    }
    return Json(200, {{"dashboards", list}});
  }
  const Dashboard* d = nullptr;
  for (const auto& candidate : **dashboards) {
    if (candidate.id == seg[2]) d = &candidate;
  }
  if (d == nullptr) return Error(404, "no dashboard '" + seg[2] + "'");
  if (seg.size() == 3) return Json(200, ToJson(*d));
  if (seg[3] == "cards" && seg.size() == 5) return Card(*d, seg[4], r, false);
  if (seg[3] == "cards" && seg.size() == 6 && seg[5] == "sql") return Card(*d, seg[4], r, true);
  if (seg[3] == "filters" && seg.size() == 6 && seg[5] == "values") return FilterValues(*d, seg[4], r);
  return Error(404, "no such API path: " + r.path);
}

namespace {

// The request's filter values by name; `skip` lists the parameters that are not filters.
std::map<std::string, std::vector<std::string>> GivenFilters(const ApiRequest& r,
                                                             const std::vector<std::string>& skip) {
  std::map<std::string, std::vector<std::string>> given;
  for (const auto& [k, v] : r.query) {
    if (std::find(skip.begin(), skip.end(), k) != skip.end()) continue;
    given[k].push_back(v);
  }
  return given;
}

// Binds `sql` on `pub`; unpublished models are an error naming them.
Result<BoundQuery> BindOn(const CardSql& sql, const Publication& pub, const std::map<std::string, FilterValue>& values,
                          const FilterValue* override_value = nullptr, const std::string& override_filter = "") {
  std::string missing;
  auto bound = sql.Bind(
      [&](const std::string& name) -> const FilterValue* {
        if (override_value != nullptr && name == override_filter) return override_value;
        auto it = values.find(name);
        return it == values.end() ? nullptr : &it->second;
      },
      [&](const std::string& model) {
        std::string rel = pub.Relation(model);
        if (rel.empty()) missing = model;
        return rel;
      });
  if (!missing.empty() && !sql.system_tables().empty()) {
    return Status::NotFound("Strata has no table '" + missing + "' (runs, task_runs, test_results, lake_batches)");
  }
  if (!missing.empty()) {
    return Status::NotFound("model '" + missing + "' is not in the published schema " + pub.schema() +
                            " (publish it: add it to a publish task's selection)");
  }
  return bound;
}

// The cache key of a query on a publication: its text, values and the rows it reads.
std::string KeyOf(const BoundQuery& q, const CardSql& sql, const Publication& pub) {
  std::string key = q.Key();
  for (const auto& m : sql.refs()) key += "\x1e" + m + "=" + pub.Fingerprint(m);
  for (const auto& t : sql.system_tables()) key += "\x1estrata." + t + "=" + pub.Fingerprint(t);
  return key;
}

}  // namespace

std::shared_ptr<Publication> Api::SourceFor(const CardSql& sql, ApiResponse* error) {
  if (!sql.system_tables().empty()) {
    if (system_ == nullptr) {
      *error = Error(404, "this server has no Strata tables (strata(...)): it serves published data only");
      return nullptr;
    }
    auto current = system_->Current();
    if (!current.ok()) {
      *error = ErrorOf(current.status().WithContext("reading the run history and the lake"));
      return nullptr;
    }
    return *current;
  }
  auto pub = publications_->Current();
  if (!pub.ok()) {
    *error = ErrorOf(pub.status());
    return nullptr;
  }
  if (*pub == nullptr) {
    *error = Error(409, "nothing is published yet: dashboards read what a pipeline's publish task publishes (" +
                            publications_->Describe() + ")");
  }
  return *pub;
}

Result<std::optional<Date>> Api::AnchorOf(const FilterSpec& f, CancelToken* cancel) {
  if (!f.anchor) return std::optional<Date>();
  ApiResponse anchor_error;
  std::shared_ptr<Publication> source = SourceFor(*f.anchor, &anchor_error);
  if (source == nullptr) return std::optional<Date>();  // nothing to anchor on: today
  STRATA_ASSIGN_OR_RETURN(BoundQuery q, BindOn(*f.anchor, *source, {}));
  const std::string key = "anchor\x1d" + KeyOf(q, *f.anchor, *source);
  std::shared_ptr<const CardResult> hit = cache_->Get(key);
  if (!hit) {
    STRATA_ASSIGN_OR_RETURN(QueryOutput out, source->Run(q, options_.limits, cancel));
    auto made = std::make_shared<CardResult>();
    made->current = std::move(out);
    hit = made;
    cache_->Put(key, hit);
  }
  const auto& rows = hit->current.result.rows;
  if (rows.empty() || rows[0].empty() || !rows[0][0]) return std::optional<Date>();
  auto date = Date::Parse(rows[0][0]->substr(0, 10));
  if (!date.ok()) {
    return Status::InvalidArgument("the anchor of filter '" + f.id + "' returned '" + *rows[0][0] + "', not a date");
  }
  return std::optional<Date>(*date);
}

ApiResponse Api::Card(const Dashboard& d, const std::string& card_id, const ApiRequest& r, bool sql_only) {
  const CardSpec* card = d.FindCard(card_id);
  if (card == nullptr) return Error(404, "dashboard '" + d.id + "' has no card '" + card_id + "'");
  std::string format = "";
  for (const auto& [k, v] : r.query) {
    if (k == "format") format = v;
  }
  if (!format.empty() && format != "csv" && format != "json") {
    return Error(400, "format is csv or json, not '" + format + "'");
  }
  ApiResponse error;
  std::shared_ptr<Publication> pub = SourceFor(card->query, &error);
  if (pub == nullptr) return error;
  Publication& p = *pub;
  auto anchor_of = [&](const FilterSpec& f) { return AnchorOf(f, r.cancel); };
  auto values = ResolveFilters(d, GivenFilters(r, {"format"}), anchor_of);
  if (!values.ok()) return ErrorOf(values.status());
  auto bound = BindOn(card->query, p, *values);
  if (!bound.ok()) return ErrorOf(bound.status());
  std::optional<BoundQuery> previous;
  if (!card->compare_with.empty() && !(*values)[card->compare_with].all_time) {
    FilterValue prev = PreviousPeriod((*values)[card->compare_with]);
    auto b = BindOn(card->query, p, *values, &prev, card->compare_with);
    if (!b.ok()) return ErrorOf(b.status());
    previous = std::move(*b);
  }
  if (sql_only) {
    json j = {{"sql", card->query.text()}, {"bound_sql", bound->sql}, {"params", bound->params}};
    if (previous) j["previous_params"] = previous->params;
    return Json(200, j);
  }
  std::string key = KeyOf(*bound, card->query, p);
  if (previous) key += "\x1dprev\x1d" + previous->Key();
  std::shared_ptr<const CardResult> result = cache_->Get(key);
  bool hit = result != nullptr;
  if (!hit) {
    auto made = std::make_shared<CardResult>();
    auto out = p.Run(*bound, options_.limits, r.cancel);
    if (!out.ok()) return ErrorOf(out.status().WithContext("card '" + card->id + "'"));
    made->current = std::move(*out);
    json body = ResultJson(made->current);
    if (previous) {
      auto prev = p.Run(*previous, options_.limits, r.cancel);
      if (!prev.ok()) return ErrorOf(prev.status().WithContext("card '" + card->id + "' (previous period)"));
      made->previous = std::move(*prev);
      body["previous"] = ResultJson(*made->previous);
      const FilterValue pv = PreviousPeriod((*values)[card->compare_with]);
      body["previous"]["period"] = {pv.start, pv.end};
    }
    const FilterValue* period = nullptr;
    if (!card->compare_with.empty()) period = &(*values)[card->compare_with];
    if (period != nullptr && !period->all_time) body["period"] = {period->start, period->end};
    // The dates each date-range filter the card takes resolved to ("last_30_days" ends on the
    // filter's anchor), so the page can say which days it shows.
    json ranges = json::object();
    for (const auto& f : card->query.filters()) {
      const FilterValue& v = (*values)[f];
      if (!v.start.empty() && !v.all_time) ranges[f] = {v.start, v.end};
    }
    if (!ranges.empty()) body["ranges"] = ranges;
    body["version"] = p.version();
    made->json_body = body.dump();
    result = made;
    cache_->Put(key, result);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    (hit ? stats_.cache_hits : stats_.cache_misses)++;
    if (!hit) stats_.queries += previous ? 2 : 1;
  }
  ApiResponse resp;
  resp.headers["X-Strata-Cache"] = hit ? "hit" : "miss";
  resp.headers["X-Strata-Publication"] = p.version();
  if (format == "csv") {
    const auto& res = result->current.result;
    std::string csv;
    for (size_t i = 0; i < res.columns.size(); ++i) csv += (i ? "," : "") + CsvField(res.columns[i]);
    csv += "\r\n";
    for (const auto& row : res.rows) {
      for (size_t i = 0; i < row.size(); ++i) csv += (i ? "," : "") + CsvField(row[i]);
      csv += "\r\n";
    }
    resp.content_type = "text/csv; charset=utf-8";
    resp.body = std::move(csv);
    resp.headers["Content-Disposition"] = "attachment; filename=\"" + d.id + "-" + card->id + ".csv\"";
    return resp;
  }
  if (format == "json") {
    const auto& res = result->current.result;
    json rows = json::array();
    for (const auto& row : res.rows) {
      json o = json::object();
      for (size_t i = 0; i < row.size(); ++i) o[res.columns[i]] = CellJson(row[i], res.column_types[i]);
      rows.push_back(std::move(o));
    }
    resp.body = rows.dump();
    resp.headers["Content-Disposition"] = "attachment; filename=\"" + d.id + "-" + card->id + ".json\"";
    return resp;
  }
  resp.body = result->json_body;
  return resp;
}

ApiResponse Api::FilterValues(const Dashboard& d, const std::string& filter_id, const ApiRequest& r,
                              const std::set<std::string>& defaulted) {
  const FilterSpec* f = d.FindFilter(filter_id);
  if (f == nullptr) return Error(404, "dashboard '" + d.id + "' has no filter '" + filter_id + "'");
  if (!f->values) return Error(400, "filter '" + f->id + "' has no list of values (it takes free text)");
  std::string search;
  for (const auto& [k, v] : r.query) {
    if (k == "q") search = v;
  }
  ApiResponse error;
  std::shared_ptr<Publication> pub = SourceFor(*f->values, &error);
  if (pub == nullptr) return error;
  Publication& p = *pub;
  // Linked filters: only the filters the values depend on count; the rest are ignored.
  std::map<std::string, std::vector<std::string>> given;
  for (auto& [k, v] : GivenFilters(r, {"q"})) {
    if (f->values->filters().contains(k)) given[k] = v;
  }
  auto values = ResolveFilters(d, given, [&](const FilterSpec& g) { return AnchorOf(g, r.cancel); });
  if (!values.ok()) return ErrorOf(values.status());
  // Defaults of the filters it depends on do not apply: what was not given is unset.
  for (auto& [k, v] : *values) {
    if (!given.contains(k) && !defaulted.contains(k)) v = FilterValue();
  }
  auto bound = BindOn(*f->values, p, *values);
  if (!bound.ok()) return ErrorOf(bound.status());
  const std::string key = "values\x1d" + KeyOf(*bound, *f->values, p);
  std::shared_ptr<const CardResult> result = cache_->Get(key);
  if (!result) {
    auto out = p.Run(*bound, options_.limits, r.cancel);
    if (!out.ok()) return ErrorOf(out.status().WithContext("the values of filter '" + f->id + "'"));
    auto made = std::make_shared<CardResult>();
    made->current = std::move(*out);
    result = made;
    cache_->Put(key, result);
  }
  const std::string needle = AsciiLower(search);
  json list = json::array();
  size_t matched = 0;
  for (const auto& row : result->current.result.rows) {
    if (row.empty() || !row[0]) continue;
    if (!needle.empty() && AsciiLower(*row[0]).find(needle) == std::string::npos) continue;
    if (++matched <= 500) list.push_back(*row[0]);
  }
  return Json(200, {{"values", list}, {"more", matched > 500}, {"version", p.version()}});
}

namespace {

// A YAML scalar that reads back as exactly `s`: a block literal for SQL, a quoted string else.
std::string YamlString(const std::string& s) { return nlohmann::json(s).dump(); }

std::string YamlBlock(const std::string& s, const std::string& indent) {
  std::string out = "|\n";
  size_t from = 0;
  while (from <= s.size()) {
    size_t nl = s.find('\n', from);
    if (nl == std::string::npos) nl = s.size();
    std::string line = s.substr(from, nl - from);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) line.pop_back();
    if (!(nl == s.size() && line.empty())) out += (line.empty() ? "" : indent + line) + "\n";
    from = nl + 1;
  }
  return out;
}

// A JSON value as YAML flow style (JSON is YAML).
std::string YamlFlow(const nlohmann::json& j) { return j.dump(); }

}  // namespace

ApiResponse Api::Explore(const ApiRequest& r, bool as_card) {
  json body = json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return Error(400, "the body is not a JSON object");
  if (!body.contains("sql") || !body["sql"].is_string()) return Error(400, "the body needs \"sql\": a string");
  const std::string text = body["sql"];
  if (TrimSqlEnd(text).empty()) return Error(400, "the SQL is empty");
  auto sql = CardSql::Parse(text);
  if (!sql.ok()) return ErrorOf(sql.status());
  if (!sql->filters().empty()) {
    return Error(400, "the explorer has no filters: '{{ " + *sql->filters().begin() +
                          " }}' can only be used in a dashboard card");
  }
  QueryLimits limits = options_.limits;
  limits.max_rows = std::min<int64_t>(limits.max_rows, 1000);
  if (body.contains("limit")) {
    if (!body["limit"].is_number_integer() || body["limit"].get<int64_t>() < 1 ||
        body["limit"].get<int64_t>() > options_.limits.max_rows) {
      return Error(400, "limit is a whole number from 1 to " + std::to_string(options_.limits.max_rows));
    }
    limits.max_rows = body["limit"];
  }
  ApiResponse error;
  std::shared_ptr<Publication> pub = SourceFor(*sql, &error);
  if (pub == nullptr) return error;
  auto bound = BindOn(*sql, *pub, {});
  if (!bound.ok()) return ErrorOf(bound.status());
  auto out = pub->Run(*bound, limits, r.cancel);
  if (!out.ok()) {
    // The user's SQL is wrong more often than the engine is: its errors are 400s.
    Status s = out.status();
    return s.code() == Status::Code::kAborted ? ErrorOf(s) : Error(400, s.message());
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    ++stats_.queries;
  }
  if (!as_card) {
    json j = ResultJson(*out);
    j["version"] = pub->version();
    return Json(200, j);
  }
  std::string id = body.value("id", "question");
  if (!ValidCardId(id)) {
    return Error(400, "a card id is lower-case letters, digits, '_' and '-'");
  }
  const std::string viz = body.value("viz", "table");
  std::string yaml =
      "  - id: " + id + "\n    title: " + YamlString(body.value("title", id)) + "\n    viz: " + YamlString(viz) + "\n";
  if (body.contains("chart") && body["chart"].is_object() && !body["chart"].empty()) {
    yaml += "    chart: " + YamlFlow(body["chart"]) + "\n";
  }
  yaml += "    sql: " + YamlBlock(text, "      ");
  return Json(200, {{"yaml", yaml}, {"columns", ResultJson(*out)["columns"]}});
}

ApiResponse Api::Embed(const ApiRequest& r, const std::vector<std::string>& seg) {
  if (options_.embed_secret.empty()) {
    return Error(404, "embedding is off: start strata serve with STRATA_EMBED_SECRET set");
  }
  if (seg.size() < 3) return Error(404, "no such API path: " + r.path + " (/api/embed/{token})");
  auto token = VerifyEmbedToken(seg[2], options_.embed_secret, static_cast<int64_t>(std::time(nullptr)));
  if (!token.ok()) return Error(401, token.status().message());
  auto dashboards = Dashboards();
  if (!dashboards.ok()) return Error(500, "the dashboard files have an error: " + dashboards.status().message());
  const Dashboard* d = nullptr;
  for (const auto& candidate : **dashboards) {
    if (candidate.id == token->dashboard) d = &candidate;
  }
  if (d == nullptr)
    return Error(404, "the embed token names dashboard '" + token->dashboard + "', which does not exist");
  if (!d->embed.enabled) {
    return Error(403, "dashboard '" + d->id + "' cannot be embedded: its file has no `embed:` (add `embed: true`)");
  }
  for (const auto& [name, values] : token->params) {
    if (d->FindFilter(name) == nullptr) {
      return Error(400, "the embed token sets filter '" + name + "', which dashboard '" + d->id + "' does not have");
    }
    if (d->embed.disabled.contains(name)) {
      return Error(400,
                   "the embed token sets filter '" + name + "', which dashboard '" + d->id + "' disables in embeds");
    }
  }
  for (const auto& name : d->embed.locked) {
    if (!token->params.contains(name)) {
      return Error(400, "dashboard '" + d->id + "' locks filter '" + name + "' in embeds: the token must set it");
    }
  }
  // Filters the viewer neither sees nor sets: the token's, and the disabled ones.
  auto fixed = [&](const std::string& name) {
    return token->params.contains(name) || d->embed.disabled.contains(name);
  };
  if (seg.size() == 3) {
    json spec = ToJson(*d);
    json filters = json::array();
    for (auto& f : spec["filters"]) {
      if (!fixed(f["id"])) filters.push_back(f);
    }
    spec["filters"] = filters;
    for (auto& c : spec["cards"]) {
      json takes = json::array();
      for (auto& f : c["filters"]) {
        if (!fixed(f)) takes.push_back(f);
      }
      c["filters"] = takes;
      if (c["drill"].is_object() && fixed(c["drill"].value("filter", ""))) c["drill"] = nullptr;
    }
    spec.erase("models");
    spec["embed"] = {{"expires", token->expires}};
    return Json(200, spec);
  }
  if (seg.size() == 4 && seg[3] == "publication") {
    auto pub = publications_->Current();
    if (!pub.ok()) return ErrorOf(pub.status());
    if (*pub == nullptr) return Json(200, {{"published", false}});
    return Json(200, {{"published", true}, {"version", (*pub)->version()}});
  }
  // The viewer's values, then the token's. Disabled filters keep their defaults.
  ApiRequest inner = r;
  inner.query.clear();
  for (const auto& [k, v] : r.query) {
    if (d->FindFilter(k) != nullptr && fixed(k)) return Error(400, "filter '" + k + "' is fixed in this embed");
    inner.query.emplace_back(k, v);
  }
  for (const auto& [name, values] : token->params) {
    if (values.empty()) inner.query.emplace_back(name, "");
    for (const auto& v : values) inner.query.emplace_back(name, v);
  }
  if (seg.size() == 5 && seg[3] == "cards") return Card(*d, seg[4], inner, false);
  if (seg.size() == 6 && seg[3] == "filters" && seg[5] == "values") {
    if (d->FindFilter(seg[4]) != nullptr && fixed(seg[4])) {
      return Error(404, "filter '" + seg[4] + "' is fixed in this embed");
    }
    return FilterValues(*d, seg[4], inner, d->embed.disabled);
  }
  return Error(404, "no such API path in an embed: " + seg[3]);
}

ApiResponse Api::PublicationInfo() {
  auto pub = publications_->Current();
  if (!pub.ok()) return ErrorOf(pub.status());
  if (*pub == nullptr) return Json(200, {{"published", false}, {"source", publications_->Describe()}});
  json relations = json::object();
  for (const auto& [name, fp] : (*pub)->fingerprints()) relations[name] = fp;
  return Json(200, {{"published", true},
                    {"version", (*pub)->version()},
                    {"schema", (*pub)->schema()},
                    {"relations", relations},
                    {"source", publications_->Describe()}});
}

}  // namespace strata::serve
