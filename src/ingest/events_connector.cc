// events connector: JSONL files from a drop folder.
//
// Files are consumed whole and at most once (their names and sizes are kept in the
// manifest state). A file whose name carries a date (YYYY-MM-DD) after the run's logical
// date waits for that date's run, so that a backfill replays the days in order instead of
// landing every day's events on the first date. Every line is checked: parseable JSON object, required fields present,
// a known event type, a valid timestamp. Accepted lines land byte for byte in zstd JSONL
// parts; rejected lines go to quarantine with file, line and reason.
#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <simdjson.h>

#include "core/date.h"
#include "core/file.h"
#include "ingest/internal/connectors.h"
#include "lake/jsonl_writer.h"

namespace strata::ingest::internal {

namespace {

// The first YYYY-MM-DD in a file name ("events-2024-01-04-00.jsonl"), or "".
std::string DateInName(const std::string& name) {
  auto digits = [&](size_t at, size_t n) {
    for (size_t k = at; k < at + n; ++k) {
      if (!std::isdigit(static_cast<unsigned char>(name[k]))) return false;
    }
    return true;
  };
  for (size_t i = 0; i + 10 <= name.size(); ++i) {
    if (digits(i, 4) && name[i + 4] == '-' && digits(i + 5, 2) && name[i + 7] == '-' && digits(i + 8, 2)) {
      return name.substr(i, 10);
    }
  }
  return "";
}

namespace fs = std::filesystem;
using Kind = JsonSchemaBuilder::Kind;

// Uncompressed bytes per landed part: several parts let DuckDB read in parallel.
constexpr int64_t kPartBytes = 64 << 20;

struct EventsSettings {
  std::string source;
  std::string dir;
  std::string pattern = "*.jsonl";
  std::string table = "events";
  std::string type_field = "event_type";
  std::string time_field = "occurred_at";
  std::vector<std::string> required;
  std::vector<std::string> known_types;
};

Kind KindOf(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::NULL_VALUE: return Kind::kNull;
    case T::BOOL: return Kind::kBool;
    case T::INT64:
    case T::UINT64: return Kind::kInt;
    case T::DOUBLE: return Kind::kDouble;
    case T::STRING: return Kind::kString;
    default: return Kind::kNested;
  }
}

class EventsConnector : public Connector {
 public:
  explicit EventsConnector(EventsSettings s) : s_(std::move(s)) {}

  std::vector<std::string> Tables() const override { return {s_.table}; }

  Status Ingest(lake::Lake* lake, const IngestOptions& options, std::vector<TableResult>* results) override {
    if (!options.Wants(s_.table)) return Status::OK();
    auto start = std::chrono::steady_clock::now();
    TableResult result;
    result.source = s_.source;
    result.table = s_.table;

    STRATA_ASSIGN_OR_RETURN(auto latest, lake->Latest(s_.source, s_.table));
    nlohmann::json consumed = latest ? latest->state.value("consumed", nlohmann::json::object())
                                     : nlohmann::json::object();

    std::error_code ec;
    if (!fs::is_directory(s_.dir, ec)) {
      return Status::Unavailable("drop folder '" + s_.dir + "' does not exist or is not a directory");
    }
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(s_.dir, ec)) {
      if (!entry.is_regular_file()) continue;
      std::string name = entry.path().filename().string();
      if (::fnmatch(s_.pattern.c_str(), name.c_str(), 0) != 0) continue;
      if (consumed.contains(name)) {
        int64_t was = consumed[name].value("size", int64_t{-1});
        if (static_cast<int64_t>(entry.file_size()) != was) {
          result.warnings.push_back("file '" + name + "' changed after it was consumed (was " +
                                    std::to_string(was) + " bytes, now " + std::to_string(entry.file_size()) +
                                    "); it is not ingested again");
        }
        continue;
      }
      if (!options.date.empty()) {
        std::string dated = DateInName(name);
        if (!dated.empty() && dated > options.date) continue;  // a later run's file
      }
      names.push_back(name);
    }
    if (ec) return Status::IOError("cannot list drop folder '" + s_.dir + "': " + ec.message());
    std::sort(names.begin(), names.end());
    if (names.empty()) {
      result.seconds = SecondsSince(start);
      results->push_back(std::move(result));
      return Status::OK();
    }

    STRATA_ASSIGN_OR_RETURN(auto batch, lake->BeginBatch(s_.source, s_.table, options.date));
    std::unique_ptr<lake::JsonlZstdWriter> part;
    std::string part_key;
    JsonSchemaBuilder schema;
    simdjson::dom::parser parser;
    std::set<std::string> known(s_.known_types.begin(), s_.known_types.end());
    nlohmann::json files_detail = nlohmann::json::array();

    auto finish_part = [&]() -> Status {
      if (!part) return Status::OK();
      int64_t rows = part->rows();
      STRATA_ASSIGN_OR_RETURN(lake::ObjectInfo info, part->Finish());
      batch->AddFile({part_key, "jsonl.zst", rows, info.size, info.sha256});
      result.bytes += info.size;
      ++result.files;
      part.reset();
      return Status::OK();
    };

    for (const auto& name : names) {
      std::string path = JoinPath(s_.dir, name);
      STRATA_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
      const size_t file_size = data.size();
      // simdjson may read up to SIMDJSON_PADDING bytes past a document: with padding at the
      // end of the buffer, every line can be parsed in place.
      data.append(simdjson::SIMDJSON_PADDING, '\0');
      const std::string_view content(data.data(), file_size);
      int64_t file_received = 0, file_rejected = 0;
      size_t pos = 0;
      int64_t line_no = 0;
      while (pos < content.size()) {
        size_t nl = content.find('\n', pos);
        size_t end = nl == std::string::npos ? content.size() : nl;
        std::string_view line(data.data() + pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        ++result.received;
        ++file_received;
        std::string reason = Check(parser, line, known, &schema);
        if (!reason.empty()) {
          batch->Quarantine({{"file", name}, {"line", line_no}}, reason, line);
          ++file_rejected;
          continue;
        }
        if (!part) {
          STRATA_ASSIGN_OR_RETURN(auto writer, batch->NewPart("jsonl.zst", &part_key));
          part = std::make_unique<lake::JsonlZstdWriter>(std::move(writer));
        }
        STRATA_RETURN_IF_ERROR(part->AddLine(line));
        ++result.landed;
        if (part->uncompressed_bytes() >= kPartBytes) STRATA_RETURN_IF_ERROR(finish_part());
      }
      consumed[name] = {{"size", static_cast<int64_t>(file_size)}};
      files_detail.push_back({{"file", name}, {"lines", file_received}, {"quarantined", file_rejected}});
      if (options.on_progress) options.on_progress(s_.table, result.received);
      CrashPoint("events_file_done");
      STRATA_RETURN_IF_ERROR(CheckCancelled(options, "after file " + name));
    }
    STRATA_RETURN_IF_ERROR(finish_part());
    result.quarantined = batch->quarantined();

    lake::Manifest m;
    m.schema = schema.Build();
    m.records_received = result.received;
    m.records_landed = result.landed;
    m.state = {{"consumed", consumed}};
    m.details = {{"connector", "events"}, {"files", files_detail}};
    STRATA_RETURN_IF_ERROR(batch->Commit(std::move(m)).status());
    result.batch_id = batch->batch_id();
    result.seconds = SecondsSince(start);
    results->push_back(std::move(result));
    return Status::OK();
  }

 private:
  // Returns "" if the line is acceptable, else the reason it is not.
  std::string Check(simdjson::dom::parser& parser, std::string_view line, const std::set<std::string>& known,
                    JsonSchemaBuilder* schema) {
    if (line.empty()) return "empty line";
    simdjson::dom::element doc;
    auto error = parser.parse(line.data(), line.size(), /*realloc_if_needed=*/false).get(doc);
    if (error) return std::string("malformed JSON: ") + simdjson::error_message(error);
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) return "not a JSON object";
    for (const auto& field : s_.required) {
      simdjson::dom::element v;
      if (obj.at_key(field).get(v) || v.is_null()) return "missing required field '" + field + "'";
    }
    std::string_view type;
    if (obj.at_key(s_.type_field).get_string().get(type)) return "field '" + s_.type_field + "' is not a string";
    if (!known.empty() && known.count(std::string(type)) == 0) {
      return "unknown " + s_.type_field + " '" + std::string(type) + "'";
    }
    simdjson::dom::element when_el;
    if (!obj.at_key(s_.time_field).get(when_el) && !when_el.is_null()) {
      std::string_view when;
      if (when_el.get_string().get(when)) return "field '" + s_.time_field + "' is not a string";
      if (!ParseTimestamp(when).ok()) {
        return "field '" + s_.time_field + "' is not a timestamp: '" + std::string(when) + "'";
      }
    }
    for (auto kv : obj) schema->Observe(kv.key, KindOf(kv.value.type()));
    return "";
  }

  EventsSettings s_;
};

}  // namespace

Result<std::unique_ptr<Connector>> CreateEventsConnector(const Project& project, const SourceConfig& source) {
  const ConfigNode& n = source.node;
  STRATA_RETURN_IF_ERROR(n.CheckKeys({"type", "path", "pattern", "table", "type_field", "time_field",
                                      "required_fields", "known_types"}));
  EventsSettings s;
  s.source = source.name;
  STRATA_ASSIGN_OR_RETURN(std::string dir, n.RequiredString("path"));
  s.dir = project.Resolve(dir);
  STRATA_ASSIGN_OR_RETURN(s.pattern, n.String("pattern", s.pattern));
  STRATA_ASSIGN_OR_RETURN(s.table, n.String("table", s.table));
  STRATA_ASSIGN_OR_RETURN(s.type_field, n.String("type_field", s.type_field));
  STRATA_ASSIGN_OR_RETURN(s.time_field, n.String("time_field", s.time_field));
  STRATA_ASSIGN_OR_RETURN(s.required, n["required_fields"].StringList());
  STRATA_ASSIGN_OR_RETURN(s.known_types, n["known_types"].StringList());
  if (std::find(s.required.begin(), s.required.end(), s.type_field) == s.required.end()) {
    s.required.push_back(s.type_field);
  }
  return std::unique_ptr<Connector>(new EventsConnector(std::move(s)));
}

}  // namespace strata::ingest::internal
