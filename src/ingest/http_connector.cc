// http connector: paginated JSON REST endpoints (cursor or page-number pagination),
// incremental through an `updated_since`-style parameter.
//
// A run fetches every page after the committed watermark and lands the records of all
// pages as one batch (one JSON record per line, zstd). The new watermark is the largest
// incremental-field value landed. Records without the key or with an unreadable
// incremental field, or longer than `max_record_bytes` as landed, are quarantined with their
// page and index.
//
// Misbehaving servers end the run with an error and land nothing: a next_cursor already
// returned (pagination that does not advance), a page number whose records repeat an earlier
// page's, more than `max_pages` pages, or a response body over `max_response_bytes`.
#include <algorithm>
#include <map>

#include "core/date.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/http_client.h"
#include "core/redact.h"
#include "ingest/internal/connectors.h"
#include "lake/jsonl_writer.h"

namespace strata::ingest::internal {
namespace {

using Kind = JsonSchemaBuilder::Kind;
using nlohmann::json;

struct EndpointSettings {
  std::string name;
  std::string path;
  std::string records = "data";
  std::string key = "id";
  std::string pagination = "cursor";  // cursor | page | none
  int64_t page_size = 100;
  std::string size_param;  // default: limit (cursor) / per_page (page)
  std::string cursor_param = "cursor";
  std::string next_cursor_field = "next_cursor";
  std::string page_param = "page";
  std::string total_pages_field = "total_pages";
  std::string incremental_param;  // e.g. updated_since; empty = full extract every run
  std::string incremental_field;  // e.g. updated_at
  int64_t max_pages = 100000;
};

struct HttpSettings {
  std::string source;
  std::string base_url;
  int64_t timeout_ms = 30000;
  HttpRetryPolicy retry;
  std::map<std::string, std::string> headers;
  int64_t max_record_bytes = kDefaultMaxRecordBytes;
  int64_t max_response_bytes = int64_t{256} << 20;
  std::vector<EndpointSettings> endpoints;
};

Kind KindOf(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return Kind::kNull;
    case json::value_t::boolean:
      return Kind::kBool;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return Kind::kInt;
    case json::value_t::number_float:
      return Kind::kDouble;
    case json::value_t::string:
      return Kind::kString;
    default:
      return Kind::kNested;
  }
}

class HttpConnector : public Connector {
 public:
  explicit HttpConnector(HttpSettings s) : s_(std::move(s)) {}

  std::vector<std::string> Tables() const override {
    std::vector<std::string> out;
    for (const auto& e : s_.endpoints) out.push_back(e.name);
    return out;
  }

  Status Ingest(lake::Lake* lake, const IngestOptions& options, std::vector<TableResult>* results) override {
    HttpClient client(s_.retry, s_.timeout_ms, s_.headers);
    client.set_max_body_bytes(s_.max_response_bytes);
    for (const auto& e : s_.endpoints) {
      if (!options.Wants(e.name)) continue;
      STRATA_RETURN_IF_ERROR(
          IngestEndpoint(&client, lake, e, options, results).WithContext("endpoint '" + e.name + "'"));
    }
    return Status::OK();
  }

 private:
  Status IngestEndpoint(HttpClient* client, lake::Lake* lake, const EndpointSettings& e, const IngestOptions& options,
                        std::vector<TableResult>* results) {
    auto start = std::chrono::steady_clock::now();
    TableResult result;
    result.source = s_.source;
    result.table = e.name;
    STRATA_ASSIGN_OR_RETURN(auto latest, lake->Latest(s_.source, e.name));
    std::string watermark;
    if (latest && !options.full_refresh && latest->state.contains("watermark") &&
        latest->state["watermark"].is_string()) {
      watermark = latest->state["watermark"].get<std::string>();
    }
    std::string best = watermark;
    int64_t best_epoch = watermark.empty()                ? INT64_MIN
                         : ParseTimestamp(watermark).ok() ? *ParseTimestamp(watermark)
                                                          : INT64_MIN;

    std::unique_ptr<lake::BatchWriter> batch;
    std::unique_ptr<lake::JsonlZstdWriter> part;
    std::string part_key;
    JsonSchemaBuilder schema;
    int64_t pages = 0, requests = 0;
    std::string cursor;
    int64_t page = 1;
    std::map<std::string, int64_t> seen_cursors;  // cursor -> the page that returned it
    std::map<std::string, int64_t> seen_pages;    // digest of a page's records -> its page number
    for (;;) {
      if (pages >= e.max_pages) {
        return Status::InvalidArgument("more than " + std::to_string(e.max_pages) + " pages from " +
                                       RedactUrl(s_.base_url) + e.path +
                                       " (the endpoint's max_pages); nothing was landed");
      }
      std::string url = s_.base_url + e.path;
      std::string sep = e.path.find('?') == std::string::npos ? "?" : "&";
      auto add = [&](const std::string& k, const std::string& v) {
        url += sep + k + "=" + UrlEncode(v);
        sep = "&";
      };
      if (e.pagination != "none") add(e.size_param, std::to_string(e.page_size));
      if (!e.incremental_param.empty() && !watermark.empty()) add(e.incremental_param, watermark);
      if (e.pagination == "cursor" && !cursor.empty()) add(e.cursor_param, cursor);
      if (e.pagination == "page") add(e.page_param, std::to_string(page));
      STRATA_ASSIGN_OR_RETURN(HttpResponse resp, client->Get(url));
      requests += resp.attempts;
      ++pages;
      json body;
      try {
        body = json::parse(resp.body);
      } catch (const json::exception& ex) {
        return Status::InvalidArgument("page " + std::to_string(pages) + " of " + RedactUrl(s_.base_url) + e.path +
                                       " is not valid JSON: " + ex.what());
      }
      if (!body.is_object() || !body.contains(e.records) || !body[e.records].is_array()) {
        return Status::InvalidArgument("page " + std::to_string(pages) + " of " + RedactUrl(s_.base_url) + e.path +
                                       ": expected an object with an array '" + e.records + "'");
      }
      const json& records = body[e.records];
      if (!records.empty() && !batch) {
        STRATA_ASSIGN_OR_RETURN(batch, lake->BeginBatch(s_.source, e.name, options.date));
      }
      for (size_t i = 0; i < records.size(); ++i) {
        const json& r = records[i];
        ++result.received;
        std::string text = r.dump(-1, ' ', false, json::error_handler_t::replace);
        std::string reason;
        if (static_cast<int64_t>(text.size()) > s_.max_record_bytes) {
          reason = "record of " + std::to_string(text.size()) + " bytes is over the source's max_record_bytes (" +
                   std::to_string(s_.max_record_bytes) + ")";
        } else if (!r.is_object()) {
          reason = "record is not a JSON object";
        } else if (!r.contains(e.key) || r[e.key].is_null()) {
          reason = "missing key field '" + e.key + "'";
        } else if (!e.incremental_field.empty()) {
          if (!r.contains(e.incremental_field) || !r[e.incremental_field].is_string()) {
            reason = "missing incremental field '" + e.incremental_field + "'";
          } else if (auto ts = ParseTimestamp(r[e.incremental_field].get<std::string>()); !ts.ok()) {
            reason = "field '" + e.incremental_field + "' is not a timestamp: '" +
                     r[e.incremental_field].get<std::string>() + "'";
          } else if (*ts > best_epoch) {
            best_epoch = *ts;
            best = r[e.incremental_field].get<std::string>();
          }
        }
        if (!reason.empty()) {
          batch->Quarantine({{"page", pages}, {"index", static_cast<int64_t>(i)}, {"url", e.path}}, reason, text);
          continue;
        }
        for (const auto& [k, v] : r.items()) schema.Observe(k, KindOf(v));
        if (!part) {
          STRATA_ASSIGN_OR_RETURN(auto writer, batch->NewPart("jsonl.zst", &part_key));
          part = std::make_unique<lake::JsonlZstdWriter>(std::move(writer));
        }
        STRATA_RETURN_IF_ERROR(part->AddLine(text));
        ++result.landed;
      }
      if (options.on_progress) options.on_progress(e.name, result.received);
      CrashPoint("http_page_done");
      STRATA_RETURN_IF_ERROR(CheckCancelled(options, "after a page of " + e.name));
      if (e.pagination == "cursor") {
        if (!body.contains(e.next_cursor_field) || body[e.next_cursor_field].is_null() || records.empty()) break;
        cursor = body[e.next_cursor_field].is_string() ? body[e.next_cursor_field].get<std::string>()
                                                       : body[e.next_cursor_field].dump();
        if (cursor.empty()) break;
        auto [it, fresh] = seen_cursors.emplace(cursor, pages);
        if (!fresh) {
          return Status::InvalidArgument("page " + std::to_string(pages) + " of " + RedactUrl(s_.base_url) + e.path +
                                         " returned " + e.next_cursor_field + " '" + cursor.substr(0, 100) +
                                         "', which page " + std::to_string(it->second) +
                                         " already returned: the pagination does not advance; nothing was landed");
        }
      } else if (e.pagination == "page") {
        int64_t total = body.value(e.total_pages_field, int64_t{0});
        if (records.empty() || page >= total) break;
        auto [it, fresh] = seen_pages.emplace(Sha256::Of(records.dump()), page);
        if (!fresh) {
          return Status::InvalidArgument("page " + std::to_string(page) + " of " + RedactUrl(s_.base_url) + e.path +
                                         " holds the same records as page " + std::to_string(it->second) +
                                         ": the server ignores '" + e.page_param + "'; nothing was landed");
        }
        ++page;
      } else {
        break;
      }
    }
    if (!batch) {
      result.seconds = SecondsSince(start);
      results->push_back(std::move(result));
      return Status::OK();
    }
    if (part) {
      int64_t rows = part->rows();
      STRATA_ASSIGN_OR_RETURN(lake::ObjectInfo info, part->Finish());
      batch->AddFile({part_key, "jsonl.zst", rows, info.size, info.sha256});
      result.bytes += info.size;
      ++result.files;
    }
    result.quarantined = batch->quarantined();
    lake::Manifest m;
    m.schema = schema.Build();
    m.records_received = result.received;
    m.records_landed = result.landed;
    m.state = {{"watermark", best.empty() ? json() : json(best)}};
    m.details = {{"connector", "http"},
                 {"endpoint", e.path},
                 {"pages", pages},
                 {"requests", requests},
                 {"from", watermark.empty() ? json() : json(watermark)}};
    STRATA_RETURN_IF_ERROR(batch->Commit(std::move(m)).status());
    result.batch_id = batch->batch_id();
    result.seconds = SecondsSince(start);
    results->push_back(std::move(result));
    return Status::OK();
  }

  HttpSettings s_;
};

}  // namespace

Result<std::unique_ptr<Connector>> CreateHttpConnector(const Project&, const SourceConfig& source) {
  const ConfigNode& n = source.node;
  STRATA_RETURN_IF_ERROR(n.CheckKeys(
      {"type", "base_url", "timeout_ms", "headers", "retry", "endpoints", "max_record_bytes", "max_response_bytes"}));
  HttpSettings s;
  s.source = source.name;
  STRATA_ASSIGN_OR_RETURN(s.base_url, n.RequiredString("base_url"));
  if (s.base_url.rfind("http://", 0) != 0 && s.base_url.rfind("https://", 0) != 0) {
    return n["base_url"].Error("expected an http:// or https:// URL, got '" + RedactUrl(s.base_url) + "'");
  }
  RegisterUrlPassword(s.base_url);
  while (!s.base_url.empty() && s.base_url.back() == '/') s.base_url.pop_back();
  STRATA_ASSIGN_OR_RETURN(s.timeout_ms, n.Int("timeout_ms", 30000));
  STRATA_ASSIGN_OR_RETURN(s.max_record_bytes, ParseMaxRecordBytes(n));
  STRATA_ASSIGN_OR_RETURN(s.max_response_bytes, n.Int("max_response_bytes", s.max_response_bytes));
  if (s.max_response_bytes < 1) return n["max_response_bytes"].Error("expected a size in bytes >= 1");
  STRATA_ASSIGN_OR_RETURN(auto headers, n["headers"].Entries());
  for (auto& [k, v] : headers) {
    STRATA_ASSIGN_OR_RETURN(s.headers[k], v.String());
  }
  ConfigNode r = n["retry"];
  if (!r.IsNull()) {
    STRATA_RETURN_IF_ERROR(r.CheckKeys({"max_attempts", "initial_delay_ms", "max_delay_ms", "multiplier"}));
    STRATA_ASSIGN_OR_RETURN(int64_t attempts, r.Int("max_attempts", s.retry.max_attempts));
    s.retry.max_attempts = static_cast<int>(attempts);
    STRATA_ASSIGN_OR_RETURN(s.retry.initial_delay_ms, r.Int("initial_delay_ms", s.retry.initial_delay_ms));
    STRATA_ASSIGN_OR_RETURN(s.retry.max_delay_ms, r.Int("max_delay_ms", s.retry.max_delay_ms));
    STRATA_ASSIGN_OR_RETURN(s.retry.multiplier, r.Double("multiplier", s.retry.multiplier));
  }
  STRATA_ASSIGN_OR_RETURN(auto endpoints, n["endpoints"].Entries());
  if (endpoints.empty()) return n.Error("an http source needs at least one entry under 'endpoints'");
  for (auto& [name, en] : endpoints) {
    STRATA_RETURN_IF_ERROR(en.CheckKeys({"path", "records", "key", "pagination", "page_size", "size_param",
                                         "cursor_param", "next_cursor_field", "page_param", "total_pages_field",
                                         "incremental_param", "incremental_field", "max_pages"}));
    EndpointSettings e;
    e.name = name;
    STRATA_ASSIGN_OR_RETURN(e.path, en.RequiredString("path"));
    STRATA_ASSIGN_OR_RETURN(e.records, en.String("records", e.records));
    STRATA_ASSIGN_OR_RETURN(e.key, en.String("key", e.key));
    STRATA_ASSIGN_OR_RETURN(e.pagination, en.String("pagination", e.pagination));
    if (e.pagination != "cursor" && e.pagination != "page" && e.pagination != "none") {
      return en["pagination"].Error("expected cursor, page or none, got '" + e.pagination + "'");
    }
    STRATA_ASSIGN_OR_RETURN(e.page_size, en.Int("page_size", e.page_size));
    STRATA_ASSIGN_OR_RETURN(e.size_param, en.String("size_param", e.pagination == "page" ? "per_page" : "limit"));
    STRATA_ASSIGN_OR_RETURN(e.cursor_param, en.String("cursor_param", e.cursor_param));
    STRATA_ASSIGN_OR_RETURN(e.next_cursor_field, en.String("next_cursor_field", e.next_cursor_field));
    STRATA_ASSIGN_OR_RETURN(e.page_param, en.String("page_param", e.page_param));
    STRATA_ASSIGN_OR_RETURN(e.total_pages_field, en.String("total_pages_field", e.total_pages_field));
    STRATA_ASSIGN_OR_RETURN(e.incremental_param, en.String("incremental_param", ""));
    STRATA_ASSIGN_OR_RETURN(e.incremental_field, en.String("incremental_field", ""));
    STRATA_ASSIGN_OR_RETURN(e.max_pages, en.Int("max_pages", e.max_pages));
    if (e.max_pages < 1) return en["max_pages"].Error("expected a number of pages >= 1");
    if (!e.incremental_param.empty() && e.incremental_field.empty()) {
      return en.Error("'incremental_param' needs 'incremental_field' (the record field holding the update time)");
    }
    s.endpoints.push_back(std::move(e));
  }
  return std::unique_ptr<Connector>(new HttpConnector(std::move(s)));
}

}  // namespace strata::ingest::internal
