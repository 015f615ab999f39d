// Warehouse: the embedded DuckDB database and the exactly-once load of lake batches into
// its `raw` schema.
//
// raw.<source>_<table> holds every landed record (append-only, one row per lake record)
// plus `_lake_file`, the lake key the row came from. raw._strata_loaded_files lists every
// loaded lake file; it is written in the same transaction as the rows, and its primary key
// makes a second load of a file impossible.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/project.h"
#include "core/status.h"
#include "db/duckdb.h"
#include "db/postgres.h"
#include "lake/lake.h"

namespace strata::warehouse {

struct LoadResult {
  std::string source;
  std::string table;     // lake table
  std::string relation;  // warehouse table, e.g. raw.shopdb_orders
  int batches = 0;
  int files = 0;
  int64_t rows = 0;
  double seconds = 0;
  std::vector<std::string> added_columns;  // schema drift absorbed by this load
  std::vector<std::string> warnings;       // ledger repairs (see Warehouse::LoadRaw)
};

// The longest JSON record (line) the raw load reads: well above the most that ingest accepts
// (ingest::kMaxRecordBytesLimit), so that anything ingest landed can be loaded.
constexpr int64_t kMaxJsonRecordBytes = int64_t{256} << 20;

// The DuckDB table function that reads lake files of one format ("parquet" or "jsonl.zst")
// with the file name as a column. For JSON, `schema` fixes the columns (nullptr: DuckDB
// detects them).
std::string LakeReader(const std::string& format, const std::vector<std::string>& paths,
                       const std::vector<lake::ColumnSchema>* schema);

// The JSON form of a table's load result.
nlohmann::json ToJson(const LoadResult& r);

// What one table's load reads: the committed lake batches after `after_sequence`, their files
// (checked against their manifests: present, same size, same SHA-256) and the union of their schemas
// (a column's type widened when batches disagree). Shared by the DuckDB and PostgreSQL loads.
struct TableLoadPlan {
  struct File {
    const lake::Manifest* manifest;
    const lake::ManifestFile* file;
    std::string path;  // readable local path
  };
  std::string source, table;
  std::vector<lake::Manifest> manifests;  // `files` point into these: move, never copy
  std::vector<lake::ColumnSchema> schema;
  std::string format;
  std::vector<File> files;
  // Batches recorded as loaded without reading a file: everything quarantined (the manifest's
  // key), or set aside by an operator (lake::SetAsideKey).
  std::vector<std::pair<const lake::Manifest*, std::string>> markers;
  int64_t expected_rows = 0;
  size_t root_length = 0;  // of the store's path prefix, stripped to get a file's lake key

  // SELECT <schema columns>, _lake_file FROM <the files>, for DuckDB.
  std::string Select() const;
  // After a failed read of all files: probes each and names the unreadable one (kCorruption),
  // or returns `error` when each reads on its own.
  Status ExplainReadFailure(duck::Connection* c, Status error) const;
};

// Plans the load of source.table; no manifests after `after_sequence` gives an empty plan.
Result<TableLoadPlan> PlanTableLoad(lake::Lake* lake, const std::string& source, const std::string& table,
                                    int64_t after_sequence);

// A load's corruption error naming a batch, with the operator's way out added (strata lake
// quarantine-batch).
Status WithSetAsideHint(const Status& s, const std::string& source, const std::string& table);

// The wider of two DuckDB types for one column across batches.
std::string WidenDuckType(const std::string& a, const std::string& b);

// Loads every committed lake file not loaded yet into PostgreSQL, as Warehouse::LoadRaw does
// into DuckDB: raw.<source>_<table> and raw._strata_loaded_files, each table in one
// transaction on `pg`, its rows streamed with binary COPY from the lake files read by an
// in-memory DuckDB. `cancel` stops the load in progress (its table keeps nothing).
Status LoadRawToPostgres(lake::Lake* lake, pg::Connection* pg, std::vector<LoadResult>* results,
                         const std::function<void(const LoadResult&)>& on_table = nullptr,
                         CancelToken* cancel = nullptr);

class Warehouse {
 public:
  struct OpenOptions {
    // For readers (`strata query`): nothing is written, several readers may share the file,
    // and a read-only file system will do. A warehouse that does not exist yet is kNotFound.
    bool read_only = false;
    // Told about every 5 s while another process holds the file (waiting config.lock_timeout_seconds).
    std::function<void(const std::string& message)> on_wait;
  };
  // Opens the project's DuckDB warehouse, waiting while another process holds it (up to the
  // project's lock_timeout, then kUnavailable: retrying later may succeed).
  static Result<std::unique_ptr<Warehouse>> Open(const WarehouseConfig& config, const OpenOptions& options);
  static Result<std::unique_ptr<Warehouse>> Open(const WarehouseConfig& config) { return Open(config, OpenOptions()); }

  // Loads every committed lake file not loaded yet, table by table, each table in one
  // transaction. A corrupt or missing lake file fails that table's load (naming the file and
  // batch) and leaves the table as it was; the other tables still load. A failed write (a
  // full disk) stops the load at once and breaks the database (duckdb.h): reopen the
  // warehouse before using it again. Returns the first failure. `results` and `on_table`
  // cover the tables that loaded.
  //
  // The ledger is checked before it is trusted: rows that are not ones the load writes (a
  // garbled key) are removed, a batch counts as loaded only when the ledger names exactly its files, and a
  // file whose rows the raw table already holds is recorded again instead of loaded twice.
  // Each repair is reported in the results' warnings.
  Status LoadRaw(lake::Lake* lake, std::vector<LoadResult>* results,
                 const std::function<void(const LoadResult&)>& on_table = nullptr);

  duck::Connection* connection() { return conn_.get(); }
  // Whether a write failed and the warehouse must be closed and opened again (duckdb.h).
  bool broken() const { return db_->broken(); }
  duck::Database* database() { return db_.get(); }
  const std::string& path() const { return path_; }

  static std::string RelationName(const std::string& source, const std::string& table) { return source + "_" + table; }

 private:
  Warehouse() = default;
  Status EnsureMetadata();
  Status LoadTable(lake::Lake* lake, const std::string& source, const std::string& table, LoadResult* result);
  Status RemoveGarbledLedgerRows(std::vector<std::string>* warnings);
  // The newest sequence of (source, table) that the ledger shows loaded whole; `loaded`
  // receives every file key the ledger names for the table.
  Result<int64_t> LoadedThrough(lake::Lake* lake, const std::string& source, const std::string& table,
                                std::set<std::string>* loaded);
  std::string path_;
  std::unique_ptr<duck::Database> db_;
  std::unique_ptr<duck::Connection> conn_;
};

}  // namespace strata::warehouse
