// Factories of the built-in connectors (private to the ingest module).
#pragma once

#include <chrono>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ingest/connector.h"

namespace strata::ingest::internal {

Result<std::unique_ptr<Connector>> CreateSqlConnector(const Project& project, const SourceConfig& source);
// A sql source's `tables:` entry: {key, cursor, mode}.
struct SqlTableSpec {
  std::string name;
  std::string key;
  std::string cursor;  // empty: always a full extract
  bool full_refresh = false;
};
// Parses the source's `tables:` map (both drivers).
Result<std::vector<SqlTableSpec>> ParseSqlTables(const ConfigNode& source);

// Commits a sql extract's batch (both drivers): its schema, counts, the watermark state for
// the next extract and what was read (`from` the old watermark `until` the upper bound), and
// completes `result` (quarantined, batch id, seconds since `start`).
Status CommitSqlBatch(lake::BatchWriter* batch, std::vector<lake::ColumnSchema> schema, const std::string& driver,
                      bool full, const nlohmann::json& from, const nlohmann::json& watermark,
                      const nlohmann::json& invalid_cursors, const std::string& until,
                      std::chrono::steady_clock::time_point start, TableResult* result);

// The sql connector's driver: postgres (sql_postgres_driver.cc).
Result<std::unique_ptr<Connector>> CreateSqlPostgresDriver(const SourceConfig& source);
Result<std::unique_ptr<Connector>> CreateHttpConnector(const Project& project, const SourceConfig& source);
Result<std::unique_ptr<Connector>> CreateEventsConnector(const Project& project, const SourceConfig& source);

// Infers the DuckDB type of JSON values key by key, widening on conflicts, and produces the
// batch schema recorded in the manifest (keys in first-seen order).
class JsonSchemaBuilder {
 public:
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kNested };
  void Observe(std::string_view key, Kind kind);
  std::vector<lake::ColumnSchema> Build() const;

 private:
  std::vector<std::string> order_;
  std::vector<Kind> kinds_;
  std::unordered_map<std::string, size_t> index_;
};

// A JSON source's `max_record_bytes` (default kDefaultMaxRecordBytes), checked against
// kMaxRecordBytesLimit.
Result<int64_t> ParseMaxRecordBytes(const ConfigNode& source);

// Time elapsed since `start`, in seconds.
double SecondsSince(std::chrono::steady_clock::time_point start);

}  // namespace strata::ingest::internal
