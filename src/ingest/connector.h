// Connectors land source data in the lake, exactly once.
//
// Each (source, table) advances in batches. A connector reads its state (watermark, cursor,
// consumed files) from the table's latest manifest, extracts what is new, writes data parts
// and quarantine, and commits the manifest with the new state last. A crash before the
// manifest leaves the state where it was, so the rerun extracts the same records again;
// a rerun after the commit finds nothing new and lands nothing.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/project.h"
#include "core/status.h"
#include "lake/lake.h"

namespace strata::ingest {

// The largest record (an event line, an API record as landed) a JSON source accepts, unless
// its `max_record_bytes` says otherwise; larger records are quarantined with the reason.
// No source may set more than kMaxRecordBytesLimit: the raw load reads JSON records of up to
// that size (warehouse::kMaxJsonRecordBytes), so whatever ingest lands, the load can read.
constexpr int64_t kDefaultMaxRecordBytes = int64_t{8} << 20;
constexpr int64_t kMaxRecordBytesLimit = int64_t{64} << 20;

struct IngestOptions {
  std::string date;  // logical date YYYY-MM-DD: the dt= partition
  // sql: rows whose cursor is at or after this instant (epoch seconds; the run's data
  // interval end) wait for a later run; 0 = the end of `date` (UTC).
  int64_t until = 0;
  bool full_refresh = false;        // sql: extract whole tables, ignoring the watermark
  std::vector<std::string> tables;  // only these tables/endpoints; empty = all
  // Called with (table, rows read so far) while extracting; may be empty.
  std::function<void(const std::string& table, int64_t rows)> on_progress;
  // Checked after every page, file and part: when fired, the table's batch is abandoned
  // uncommitted (nothing lands; a rerun starts it again) and IngestSource returns kAborted.
  const CancelToken* cancel = nullptr;

  // Whether `table` is to be ingested (`tables` names it, or is empty).
  bool Wants(const std::string& table) const {
    return tables.empty() || std::find(tables.begin(), tables.end(), table) != tables.end();
  }
};

// kAborted when options.cancel has fired.
Status CheckCancelled(const IngestOptions& options, const std::string& where);

// Reconciliation for one table: received == landed + quarantined, always.
struct TableResult {
  std::string source;
  std::string table;
  std::string batch_id;  // empty when nothing new was found (no batch written)
  int64_t received = 0;
  int64_t landed = 0;
  int64_t quarantined = 0;
  int64_t bytes = 0;  // bytes written to the lake (data parts)
  int files = 0;
  double seconds = 0;
  std::vector<std::string> warnings;
  bool reconciled() const { return received == landed + quarantined; }
};

// The JSON form of a table's result (what `--json` outputs print).
nlohmann::json ToJson(const TableResult& r);

class Connector {
 public:
  virtual ~Connector() = default;
  // Lands every table of the source. Results are appended per table as it commits, so a
  // failure on a later table still reports the earlier ones.
  virtual Status Ingest(lake::Lake* lake, const IngestOptions& options, std::vector<TableResult>* results) = 0;
  virtual std::vector<std::string> Tables() const = 0;
};

// Validates the source's settings and builds its connector.
Result<std::unique_ptr<Connector>> CreateConnector(const Project& project, const SourceConfig& source);

// Ingests one source while holding its lock in the project's state folder, so two strata
// processes never write the same tables at once.
Status IngestSource(const Project& project, lake::Lake* lake, const SourceConfig& source, const IngestOptions& options,
                    std::vector<TableResult>* results);

}  // namespace strata::ingest
