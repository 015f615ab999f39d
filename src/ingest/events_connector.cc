// events connector: JSONL files from a drop folder, followed like a log shipper follows logs.
//
// Only complete lines are consumed: for each file the manifest state keeps the offset just
// past the last consumed newline, the number of lines consumed and a fingerprint of the
// file's first bytes. A later run reads what was appended after that offset, so a file still
// being written is taken line by line as it grows and nothing appended to a consumed file is
// lost. A last line without its newline waits for it; it is taken as the file's final line
// only once the file has not changed for `settle_seconds` (a writer that never ends its last
// line). A file that shrank or whose first bytes changed was replaced: it is reported, never
// read again under that name (rename it to have it ingested as a new file).
//
// A file whose name carries a date (YYYY-MM-DD) after the run's logical date waits for that
// date's run, so that a backfill replays the days in order instead of landing every day's
// events on the first date. Every line is checked: at most `max_record_bytes` long,
// parseable JSON object, required fields present, a known event type, a valid timestamp.
// Accepted lines land byte for byte in zstd JSONL parts; rejected lines go to quarantine
// with file, line and reason.
#include <fcntl.h>
#include <fnmatch.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>

#include "core/date.h"
#include "core/file.h"
#include "core/hash.h"
#include "ingest/internal/connectors.h"
#include "ingest/internal/event_check.h"
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
  EventRules rules;
  int64_t settle_seconds = 300;
};

// How many leading bytes of a file identify it (like log shippers' fingerprints).
constexpr int64_t kHeadBytes = 1024;

// What earlier batches consumed of one file.
struct Consumed {
  int64_t offset = 0;  // bytes consumed: just past the last consumed line
  int64_t lines = 0;   // lines consumed (-1: unknown, from a manifest written before lines were kept)
  std::string head;    // SHA-256 of the first min(offset, kHeadBytes) bytes ("" if unknown)
};

Consumed ConsumedFromState(const nlohmann::json& j) {
  Consumed c;
  c.offset = j.value("size", int64_t{0});
  c.lines = j.value("lines", int64_t{-1});
  c.head = j.value("head", std::string());
  return c;
}

// Reads [offset, end of file) of `path` into *data (with `padding` zero bytes after it).
Status ReadFrom(const std::string& path, int64_t offset, size_t padding, std::string* data) {
  data->clear();
  STRATA_RETURN_IF_ERROR(ReadChunks(path, offset, [data](std::string_view piece) { data->append(piece); }));
  data->append(padding, '\0');
  return Status::OK();
}

// SHA-256 of the first min(limit, kHeadBytes) bytes of `path`.
Result<std::string> HeadFingerprint(const std::string& path, int64_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot read '" + path + "': " + std::strerror(errno));
  char buf[kHeadBytes];
  ssize_t n = ::pread(fd, buf, static_cast<size_t>(std::min(limit, kHeadBytes)), 0);
  ::close(fd);
  if (n < 0) return Status::IOError("cannot read '" + path + "': " + std::strerror(errno));
  return Sha256::Of(std::string_view(buf, static_cast<size_t>(n)));
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
    nlohmann::json consumed =
        latest ? latest->state.value("consumed", nlohmann::json::object()) : nlohmann::json::object();

    std::error_code ec;
    if (!fs::is_directory(s_.dir, ec)) {
      return Status::Unavailable("drop folder '" + s_.dir + "' does not exist or is not a directory");
    }
    // The files with something new: never seen, or grown past what was consumed.
    struct Pending {
      std::string name;
      Consumed from;
    };
    std::vector<Pending> pending;
    for (const auto& entry : fs::directory_iterator(s_.dir, ec)) {
      if (!entry.is_regular_file()) continue;
      std::string name = entry.path().filename().string();
      if (::fnmatch(s_.pattern.c_str(), name.c_str(), 0) != 0) continue;
      if (!options.date.empty()) {
        std::string dated = DateInName(name);
        if (!dated.empty() && dated > options.date) continue;  // a later run's file
      }
      const int64_t size = static_cast<int64_t>(entry.file_size());
      Consumed from;
      if (consumed.contains(name)) {
        from = ConsumedFromState(consumed[name]);
        if (size < from.offset) {
          result.warnings.push_back("file '" + name + "' shrank after it was consumed (was " +
                                    std::to_string(from.offset) + " bytes, now " + std::to_string(size) +
                                    "): it was replaced and is not read again; rename it to ingest it as a new file");
          continue;
        }
        if (!from.head.empty()) {
          STRATA_ASSIGN_OR_RETURN(std::string head, HeadFingerprint(JoinPath(s_.dir, name), from.offset));
          if (head != from.head) {
            result.warnings.push_back("file '" + name +
                                      "' was replaced after it was consumed (its first bytes "
                                      "changed): it is not read again; rename it to ingest it as a new file");
            continue;
          }
        }
        if (size == from.offset) continue;  // nothing new
      }
      pending.push_back({name, from});
    }
    if (ec) return Status::IOError("cannot list drop folder '" + s_.dir + "': " + ec.message());
    std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) { return a.name < b.name; });
    if (pending.empty()) {
      result.seconds = SecondsSince(start);
      results->push_back(std::move(result));
      return Status::OK();
    }

    STRATA_ASSIGN_OR_RETURN(auto batch, lake->BeginBatch(s_.source, s_.table, options.date));
    std::unique_ptr<lake::JsonlZstdWriter> part;
    std::string part_key;
    JsonSchemaBuilder schema;
    simdjson::dom::parser parser;
    nlohmann::json files_detail = nlohmann::json::array();
    bool took_any = false;

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

    for (const auto& [name, from] : pending) {
      std::string path = JoinPath(s_.dir, name);
      struct stat st;
      if (::stat(path.c_str(), &st) != 0) {
        return Status::IOError("cannot stat '" + path + "': " + std::strerror(errno));
      }
      // simdjson may read up to SIMDJSON_PADDING bytes past a document: with padding at the
      // end of the buffer, every line can be parsed in place.
      std::string data;
      STRATA_RETURN_IF_ERROR(ReadFrom(path, from.offset, simdjson::SIMDJSON_PADDING, &data));
      const size_t read = data.size() - simdjson::SIMDJSON_PADDING;
      // Complete lines end at the last newline; the rest waits for its newline, unless the file
      // has settled (unchanged for settle_seconds, and nothing was appended while reading).
      size_t complete = std::string_view(data.data(), read).rfind('\n');
      complete = complete == std::string_view::npos ? 0 : complete + 1;
      const bool settled = static_cast<int64_t>(read) + from.offset == static_cast<int64_t>(st.st_size) &&
                           std::time(nullptr) - st.st_mtim.tv_sec >= s_.settle_seconds;
      size_t take = complete;
      if (complete < read) {
        if (settled) {
          take = read;
        } else {
          result.warnings.push_back("file '" + name + "' ends in a line without its newline (" +
                                    std::to_string(read - complete) +
                                    " bytes): it waits for the newline, or for the file to be unchanged for " +
                                    std::to_string(s_.settle_seconds) + " s");
        }
      }
      if (take == 0) continue;
      took_any = true;
      const std::string_view content(data.data(), take);
      int64_t line_no = from.lines;
      if (line_no < 0) {
        // A state written before line numbers were kept: count the consumed lines once.
        std::string before;
        STRATA_RETURN_IF_ERROR(ReadFrom(path, 0, 0, &before));
        line_no = std::count(before.begin(), before.begin() + std::min<int64_t>(from.offset, before.size()), '\n');
      }
      int64_t file_received = 0, file_rejected = 0;
      size_t pos = 0;
      while (pos < content.size()) {
        size_t nl = content.find('\n', pos);
        size_t end = nl == std::string::npos ? content.size() : nl;
        std::string_view line(data.data() + pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        ++result.received;
        ++file_received;
        std::string reason = CheckEvent(s_.rules, parser, line, /*padded=*/true, &schema);
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
      const int64_t offset = from.offset + static_cast<int64_t>(take);
      std::string head = from.head;
      if (from.offset < kHeadBytes) {
        STRATA_ASSIGN_OR_RETURN(head, HeadFingerprint(path, offset));
      }
      consumed[name] = {{"size", offset}, {"lines", line_no}, {"head", head}};
      files_detail.push_back({{"file", name},
                              {"from", from.offset},
                              {"to", offset},
                              {"lines", file_received},
                              {"quarantined", file_rejected}});
      if (options.on_progress) options.on_progress(s_.table, result.received);
      CrashPoint("events_file_done");
      STRATA_RETURN_IF_ERROR(CheckCancelled(options, "after file " + name));
    }
    if (!took_any) {
      // Only unfinished lines: nothing to commit yet.
      result.seconds = SecondsSince(start);
      results->push_back(std::move(result));
      return Status::OK();
    }
    STRATA_RETURN_IF_ERROR(finish_part());
    result.quarantined = batch->quarantined();

    lake::Manifest m;
    m.schema = schema.Build();
    m.records_received = result.received;
    m.records_landed = result.landed;
    // Other keys of the state are another way in of the same table (the collector's): kept, so
    // that a source switched between the two picks up where each left off.
    m.state = latest ? latest->state : nlohmann::json::object();
    m.state["consumed"] = consumed;
    m.details = {{"connector", "events"}, {"files", files_detail}};
    STRATA_RETURN_IF_ERROR(batch->Commit(std::move(m)).status());
    result.batch_id = batch->batch_id();
    result.seconds = SecondsSince(start);
    results->push_back(std::move(result));
    return Status::OK();
  }

 private:
  EventsSettings s_;
};

}  // namespace

Result<std::unique_ptr<Connector>> CreateEventsConnector(const Project& project, const SourceConfig& source) {
  const ConfigNode& n = source.node;
  // The collector's keys are allowed too (and unused): one source can switch between a drop
  // folder and `strata collect` by its type alone (collector.h).
  STRATA_RETURN_IF_ERROR(
      n.CheckKeys({"type", "path", "pattern", "table", "type_field", "time_field", "required_fields", "known_types",
                   "max_record_bytes", "settle_seconds", "listen", "id_field", "tokens_file", "max_request_bytes",
                   "buffer_mb", "land_seconds", "land_mb", "dedup_seconds", "dedup_max_ids"}));
  EventsSettings s;
  s.source = source.name;
  STRATA_ASSIGN_OR_RETURN(std::string dir, n.RequiredString("path"));
  s.dir = project.Resolve(dir);
  STRATA_ASSIGN_OR_RETURN(s.pattern, n.String("pattern", s.pattern));
  STRATA_ASSIGN_OR_RETURN(s.table, n.String("table", s.table));
  STRATA_ASSIGN_OR_RETURN(s.rules, ParseEventRules(n));
  STRATA_ASSIGN_OR_RETURN(s.settle_seconds, n.Int("settle_seconds", s.settle_seconds));
  if (s.settle_seconds < 0) return n["settle_seconds"].Error("expected a number of seconds >= 0");
  return std::unique_ptr<Connector>(new EventsConnector(std::move(s)));
}

}  // namespace strata::ingest::internal
