#include "ingest/connector.h"

#include <algorithm>

#include "core/file.h"
#include "ingest/internal/connectors.h"

namespace strata::ingest {

namespace {

// A `type: collector` source: `strata collect` lands its events as they arrive; an ingest run
// has nothing to pull (and must not wait for the lock the collector holds).
class CollectorSource : public Connector {
 public:
  CollectorSource(std::string source, std::string table) : source_(std::move(source)), table_(std::move(table)) {}
  Status Ingest(lake::Lake*, const IngestOptions&, std::vector<TableResult>* results) override {
    TableResult r;
    r.source = source_;
    r.table = table_;
    r.warnings.push_back("events of a collector source are landed as they arrive by `strata collect`");
    results->push_back(std::move(r));
    return Status::OK();
  }
  std::vector<std::string> Tables() const override { return {table_}; }

 private:
  std::string source_, table_;
};

}  // namespace

Result<std::unique_ptr<Connector>> CreateConnector(const Project& project, const SourceConfig& source) {
  if (source.type == "sql") return internal::CreateSqlConnector(project, source);
  if (source.type == "http") return internal::CreateHttpConnector(project, source);
  if (source.type == "events") return internal::CreateEventsConnector(project, source);
  if (source.type == "collector") {
    STRATA_ASSIGN_OR_RETURN(std::string table, source.node.String("table", "events"));
    return std::unique_ptr<Connector>(new CollectorSource(source.name, table));
  }
  std::string hint = Closest(source.type, {"sql", "http", "events", "collector"});
  return source.node["type"].Error("unknown source type '" + source.type + "'" +
                                   (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                                   "; expected sql, http, events or collector");
}

Status IngestSource(const Project& project, lake::Lake* lake, const SourceConfig& source, const IngestOptions& options,
                    std::vector<TableResult>* results) {
  STRATA_ASSIGN_OR_RETURN(auto connector, CreateConnector(project, source));
  for (const auto& t : options.tables) {
    auto tables = connector->Tables();
    if (std::find(tables.begin(), tables.end(), t) == tables.end()) {
      std::string hint = Closest(t, tables);
      return Status::InvalidArgument("source '" + source.name + "' has no table '" + t + "'" +
                                     (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
  }
  if (source.type == "collector") return connector->Ingest(lake, options, results);  // `strata collect` holds the lock
  STRATA_ASSIGN_OR_RETURN(FileLock lock,
                          FileLock::Acquire(JoinPath(project.state_dir, "locks/ingest-" + source.name + ".lock")));
  Status s = connector->Ingest(lake, options, results);
  for (const auto& r : *results) {
    if (!r.reconciled()) {
      return Status::Internal("reconciliation failed for " + r.source + "." + r.table + ": received " +
                              std::to_string(r.received) + " != landed " + std::to_string(r.landed) +
                              " + quarantined " + std::to_string(r.quarantined));
    }
  }
  return s.WithContext("source '" + source.name + "'");
}

nlohmann::json ToJson(const TableResult& r) {
  using nlohmann::json;
  return {{"source", r.source},
          {"table", r.table},
          {"batch_id", r.batch_id.empty() ? json() : json(r.batch_id)},
          {"received", r.received},
          {"landed", r.landed},
          {"quarantined", r.quarantined},
          {"reconciled", r.reconciled()},
          {"bytes", r.bytes},
          {"files", r.files},
          {"seconds", r.seconds},
          {"warnings", r.warnings}};
}

namespace internal {

Result<int64_t> ParseMaxRecordBytes(const ConfigNode& source) {
  STRATA_ASSIGN_OR_RETURN(int64_t max, source.Int("max_record_bytes", kDefaultMaxRecordBytes));
  if (max < 1 || max > kMaxRecordBytesLimit) {
    return source["max_record_bytes"].Error("expected a size in bytes from 1 to " +
                                            std::to_string(kMaxRecordBytesLimit) + ", got " + std::to_string(max));
  }
  return max;
}

}  // namespace internal

Status CheckCancelled(const IngestOptions& options, const std::string& where) {
  if (options.cancel == nullptr || !options.cancel->cancelled()) return Status::OK();
  return Status::Aborted("ingest cancelled (" + options.cancel->reason() + ") " + where +
                         "; its batch was not committed");
}

}  // namespace strata::ingest
