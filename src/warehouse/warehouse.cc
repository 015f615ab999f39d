#include "warehouse/warehouse.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include "core/fault.h"
#include "core/file.h"
#include "core/parallel.h"
#include "core/transaction.h"

namespace strata::warehouse {

namespace fs = std::filesystem;
using duck::QuoteIdent;
using duck::QuoteLiteral;

Result<std::unique_ptr<Warehouse>> Warehouse::Open(const WarehouseConfig& config, const OpenOptions& options) {
  std::unique_ptr<Warehouse> w(new Warehouse());
  w->path_ = config.path;
  std::map<std::string, std::string> settings;
  if (config.threads > 0) settings["threads"] = std::to_string(config.threads);
  if (!config.memory_limit.empty()) settings["memory_limit"] = config.memory_limit;
  if (options.read_only) {
    std::error_code ec;
    if (!config.path.empty() && !fs::exists(config.path, ec)) {
      return Status::NotFound("there is no warehouse at " + config.path + " yet: `strata load` creates it");
    }
    settings["access_mode"] = "READ_ONLY";
  } else if (!config.path.empty()) {
    STRATA_RETURN_IF_ERROR(MakeDirs(fs::path(config.path).parent_path().string()));
  }
  duck::LockWait wait;
  wait.timeout_seconds = config.lock_timeout_seconds;
  if (options.on_wait) {
    wait.on_wait = [&](const std::string& holder, int waited) {
      options.on_wait("waiting for the warehouse " + config.path + ", which " + holder + " holds (" +
                      std::to_string(waited) + " s of " + std::to_string(config.lock_timeout_seconds) + " s)");
    };
  }
  STRATA_ASSIGN_OR_RETURN(w->db_, duck::Database::Open(config.path, settings, wait));
  STRATA_ASSIGN_OR_RETURN(w->conn_, w->db_->Connect());
  return w;
}

Status Warehouse::EnsureMetadata() {
  return conn_->Execute(
      "CREATE SCHEMA IF NOT EXISTS raw;"
      "CREATE TABLE IF NOT EXISTS raw._strata_loaded_files ("
      "  file_key VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, table_name VARCHAR NOT NULL,"
      "  batch_id VARCHAR NOT NULL, sequence BIGINT NOT NULL, rows BIGINT NOT NULL,"
      "  sha256 VARCHAR NOT NULL, loaded_at TIMESTAMP NOT NULL DEFAULT current_timestamp);");
}

Status WithSetAsideHint(const Status& s, const std::string& source, const std::string& table) {
  size_t at = s.message().find("(batch ");
  if (at == std::string::npos) return s;
  const std::string batch = s.message().substr(at + 7, s.message().find_first_of(" )", at + 7) - at - 7);
  return Status::Corruption(s.message() +
                            " (if the file cannot be restored, set the batch aside: strata lake "
                            "quarantine-batch " +
                            source + "." + table + " " + batch + " --reason '...')");
}

Status Warehouse::LoadRaw(lake::Lake* lake, std::vector<LoadResult>* results,
                          const std::function<void(const LoadResult&)>& on_table) {
  STRATA_RETURN_IF_ERROR(db_->broken()
                             ? Status::IOError("the warehouse " + path_ + " must be reopened: " + db_->broken_reason())
                             : Status::OK());
  STRATA_RETURN_IF_ERROR(EnsureMetadata());
  STRATA_ASSIGN_OR_RETURN(auto tables, lake->Tables());
  {
    LoadResult ledger;
    ledger.relation = "raw._strata_loaded_files";
    STRATA_RETURN_IF_ERROR(RemoveGarbledLedgerRows(&ledger.warnings));
    if (!ledger.warnings.empty()) {
      if (on_table) on_table(ledger);
      results->push_back(std::move(ledger));
    }
  }
  Status first_error;
  int failed = 0;
  for (const auto& [source, table] : tables) {
    LoadResult r;
    r.source = source;
    r.table = table;
    r.relation = "raw." + RelationName(source, table);
    auto start = std::chrono::steady_clock::now();
    Status s = LoadTable(lake, source, table, &r);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!s.ok()) {
      if (s.code() == Status::Code::kCorruption) s = WithSetAsideHint(s, source, table);
      if (failed++ == 0) first_error = s.WithContext("loading " + r.relation);
      // A failed write leaves DuckDB unfit for more (duckdb.h): stop at the first one. The
      // tables loaded before it are committed; the rest load on the next run.
      if (db_->broken()) {
        return first_error.WithContext(
            "the load stopped at the first failed write (the tables before it are "
            "loaded, the rest load when it is run again)");
      }
      // Otherwise (a corrupt lake file, say) this table stays as it was; the others still load.
      continue;
    }
    if (on_table) on_table(r);
    results->push_back(std::move(r));
  }
  bool loaded_any = false;
  for (const auto& r : *results) loaded_any |= r.files > 0;
  if (loaded_any) {
    // Fold the WAL into the database file now, not in the middle of a later load or query.
    // A checkpoint that fails loses nothing: the WAL keeps every committed load.
    Status s = conn_->Execute("CHECKPOINT");
    if (!s.ok() && first_error.ok()) first_error = s.WithContext("checkpoint after load (every table is loaded)");
  }
  if (failed > 1) {
    return first_error.WithContext(std::to_string(failed) + " tables failed to load; the first");
  }
  return first_error;
}

namespace {

// Whether a ledger row is one the load writes: the batch id of its sequence, and a key under
// its own table's folder (a data file, or the manifest marking an all-quarantined batch).
bool WellFormedLedgerRow(const std::string& key, const std::string& source, const std::string& table,
                         const std::string& batch_id, int64_t sequence) {
  const std::string prefix = "raw/" + source + "/" + table + "/";
  return batch_id == lake::BatchId(sequence) && key.compare(0, prefix.size(), prefix) == 0 &&
         key.find(batch_id, prefix.size()) != std::string::npos;
}

}  // namespace

Status Warehouse::RemoveGarbledLedgerRows(std::vector<std::string>* warnings) {
  // DuckDB 1.4 can replay a garbled WAL record after a failed write (duckdb.h): a ledger row
  // that is not one the load writes names no lake file and protects nothing. Such rows are
  // removed, and reported. (Rows of tables the lake does not hold now are kept: a lake
  // folder can be missing for a while, and the raw table's rows still came from it.)
  STRATA_ASSIGN_OR_RETURN(auto rows, conn_->Query("SELECT file_key, source, table_name, batch_id, sequence "
                                                  "FROM raw._strata_loaded_files"));
  std::vector<std::string> garbled;
  for (const auto& row : rows.rows) {
    const std::string key = row[0].value_or(""), source = row[1].value_or(""), table = row[2].value_or("");
    int64_t sequence = std::strtoll(row[4].value_or("0").c_str(), nullptr, 10);
    if (!WellFormedLedgerRow(key, source, table, row[3].value_or(""), sequence)) garbled.push_back(key);
  }
  if (garbled.empty()) return Status::OK();
  STRATA_ASSIGN_OR_RETURN(auto tx, Transaction<duck::Connection>::Begin(conn_.get()));
  STRATA_ASSIGN_OR_RETURN(auto del, conn_->Prepare("DELETE FROM raw._strata_loaded_files WHERE file_key = ?"));
  for (const auto& key : garbled) {
    Status st = del->Bind(1, key);
    if (st.ok()) st = del->Execute().status();
    if (!st.ok()) return st.WithContext("removing a garbled row of raw._strata_loaded_files");
    warnings->push_back("removed a garbled row of the loaded-files ledger (it names no lake file): '" +
                        key.substr(0, 200) + "'; the files it stood for are checked against the raw tables");
  }
  return tx.Commit();
}

std::string WidenDuckType(const std::string& a, const std::string& b) {
  if (a == b) return a;
  auto numeric = [](const std::string& t) { return t == "BIGINT" || t == "DOUBLE" || t.rfind("DECIMAL", 0) == 0; };
  if (numeric(a) && numeric(b)) return "DOUBLE";
  return "VARCHAR";
}

std::string LakeReader(const std::string& format, const std::vector<std::string>& paths,
                       const std::vector<lake::ColumnSchema>* schema) {
  std::string list = "[";
  for (size_t i = 0; i < paths.size(); ++i) list += (i ? ", " : "") + QuoteLiteral(paths[i]);
  list += "]";
  if (format == "parquet") return "read_parquet(" + list + ", union_by_name = true, filename = true)";
  std::string cols;
  if (schema != nullptr) {
    cols = ", columns = {";
    for (size_t i = 0; i < schema->size(); ++i) {
      cols += (i ? ", " : "") + QuoteLiteral((*schema)[i].name) + ": " + QuoteLiteral((*schema)[i].type);
    }
    cols += "}";
  }
  // DuckDB's default maximum_object_size (16 MB) fails on longer records, and between about
  // 32 and 40 MB its reader spins for many minutes instead: always set it, well above what
  // ingest accepts (ingest::kMaxRecordBytesLimit).
  return "read_json(" + list + ", format = 'newline_delimited', compression = 'zstd'" + cols +
         ", maximum_object_size = " + std::to_string(kMaxJsonRecordBytes) + ", filename = true)";
}

Result<TableLoadPlan> PlanTableLoad(lake::Lake* lake, const std::string& source, const std::string& table,
                                    int64_t after_sequence) {
  TableLoadPlan plan;
  plan.source = source;
  plan.table = table;
  STRATA_ASSIGN_OR_RETURN(plan.manifests, lake->Manifests(source, table, after_sequence));
  if (plan.manifests.empty()) return plan;
  STRATA_ASSIGN_OR_RETURN(auto set_aside, lake->SetAsideBatches(source, table));
  std::map<std::string, size_t> pos;
  for (const auto& m : plan.manifests) {
    if (set_aside.count(m.batch_id) > 0) {
      plan.markers.emplace_back(&m, lake::SetAsideKey(source, table, m.batch_id));
      continue;
    }
    if (m.files.empty()) plan.markers.emplace_back(&m, lake::ManifestKey(source, table, m.batch_id));
    for (const auto& col : m.schema) {
      auto it = pos.find(col.name);
      if (it == pos.end()) {
        pos[col.name] = plan.schema.size();
        plan.schema.push_back(col);
      } else {
        plan.schema[it->second].type = WidenDuckType(plan.schema[it->second].type, col.type);
      }
    }
    for (const auto& f : m.files) {
      if (!plan.format.empty() && f.format != plan.format) {
        return Status::Corruption("batch " + m.batch_id + " mixes file formats (" + plan.format + ", " + f.format +
                                  ")");
      }
      plan.format = f.format;
      plan.files.push_back({&m, &f, ""});
      plan.expected_rows += f.rows;
    }
  }
  // Nothing read back from disk is trusted: every file is checked against its manifest's size
  // and SHA-256 before the engine reads it (about 2 GB/s per core with SHA-NI, a fraction of
  // what the load itself costs).
  STRATA_RETURN_IF_ERROR(ParallelFor(plan.files.size(), CpuThreads(), [&](size_t i) -> Status {
    auto& f = plan.files[i];
    STRATA_ASSIGN_OR_RETURN(f.path, lake->CheckedPath(*f.manifest, *f.file));
    return Status::OK();
  }));
  // DuckDB reports the paths it read; the lake key is each path without the store's prefix.
  for (size_t i = 0; i < plan.files.size(); ++i) {
    const std::string& path = plan.files[i].path;
    const std::string& key = plan.files[i].file->key;
    const bool ends_with_key =
        path.size() >= key.size() && path.compare(path.size() - key.size(), key.size(), key) == 0;
    if (!ends_with_key || (i > 0 && path.size() - key.size() != plan.root_length)) {
      return Status::Internal("the lake store's readable path " + path + " does not end with its key " + key +
                              " under the same prefix as the table's other files");
    }
    plan.root_length = path.size() - key.size();
  }
  return plan;
}

std::string TableLoadPlan::Select() const {
  std::vector<std::string> paths;
  for (const auto& f : files) paths.push_back(f.path);
  std::string cols;
  for (const auto& col : schema) cols += QuoteIdent(col.name) + ", ";
  return "SELECT " + cols + "substr(filename, " + std::to_string(root_length + 1) + ") AS _lake_file FROM " +
         LakeReader(format, paths, &schema);
}

Status TableLoadPlan::ExplainReadFailure(duck::Connection* c, Status error) const {
  for (const auto& f : files) {
    auto probe = c->Query("SELECT count(*) FROM " + LakeReader(format, {f.path}, &schema));
    if (!probe.ok()) {
      return Status::Corruption("lake file " + f.file->key + " (batch " + f.manifest->batch_id + " of " + source + "." +
                                table + ") cannot be read: " + probe.status().message());
    }
  }
  return error;
}

Result<int64_t> Warehouse::LoadedThrough(lake::Lake* lake, const std::string& source, const std::string& table,
                                         std::set<std::string>* loaded) {
  STRATA_ASSIGN_OR_RETURN(auto ps, conn_->Prepare("SELECT file_key, sequence FROM raw._strata_loaded_files "
                                                  "WHERE source = ? AND table_name = ?"));
  STRATA_RETURN_IF_ERROR(ps->Bind(1, source));
  STRATA_RETURN_IF_ERROR(ps->Bind(2, table));
  STRATA_ASSIGN_OR_RETURN(auto rows, ps->Execute());
  std::map<int64_t, std::set<std::string>> by_sequence;
  for (const auto& row : rows.rows) {
    by_sequence[std::strtoll(row[1].value_or("0").c_str(), nullptr, 10)].insert(row[0].value_or(""));
    loaded->insert(row[0].value_or(""));
  }
  // The newest batch counts as loaded only if the ledger names exactly its files; otherwise
  // step back, and let the load sort out file by file what the raw table already holds.
  STRATA_ASSIGN_OR_RETURN(auto set_aside, lake->SetAsideBatches(source, table));
  while (!by_sequence.empty()) {
    auto last = std::prev(by_sequence.end());
    STRATA_ASSIGN_OR_RETURN(auto manifests, lake->Manifests(source, table, last->first - 1));
    if (!manifests.empty() && manifests[0].sequence == last->first) {
      const lake::Manifest& m = manifests[0];
      std::set<std::string> expected;
      if (set_aside.count(m.batch_id) > 0) {
        // Set aside, perhaps after it was loaded: its marker is what counts.
        if (last->second.count(lake::SetAsideKey(source, table, m.batch_id)) > 0) return last->first;
      } else {
        for (const auto& f : m.files) expected.insert(f.key);
        if (expected.empty()) expected.insert(lake::ManifestKey(source, table, m.batch_id));
        if (expected == last->second) return last->first;
      }
    }
    by_sequence.erase(last);
  }
  return 0;
}

namespace {

// Creates raw.<name> for `schema`, or widens it (new columns, wider types). `existed` says
// whether it was there; `added` receives new column names. Inside the caller's transaction.
Status EvolveRawTable(duck::Connection* c, const std::string& name, const std::vector<lake::ColumnSchema>& schema,
                      bool* existed, std::vector<std::string>* added) {
  const std::string rel = "raw." + QuoteIdent(name);
  STRATA_ASSIGN_OR_RETURN(auto existing, c->Query("SELECT column_name, data_type FROM information_schema.columns "
                                                  "WHERE table_schema = 'raw' AND table_name = " +
                                                  QuoteLiteral(name) + " ORDER BY ordinal_position"));
  *existed = !existing.rows.empty();
  if (!*existed) {
    std::string ddl = "CREATE TABLE " + rel + " (";
    for (const auto& col : schema) ddl += QuoteIdent(col.name) + " " + col.type + ", ";
    ddl += "_lake_file VARCHAR NOT NULL)";
    STRATA_RETURN_IF_ERROR(FailPoint("load_write"));
    return c->Execute(ddl);
  }
  std::map<std::string, std::string> have;
  for (const auto& row : existing.rows) have[*row[0]] = *row[1];
  for (const auto& col : schema) {
    auto it = have.find(col.name);
    if (it == have.end()) {
      STRATA_RETURN_IF_ERROR(FailPoint("load_write"));
      STRATA_RETURN_IF_ERROR(c->Execute("ALTER TABLE " + rel + " ADD COLUMN " + QuoteIdent(col.name) + " " + col.type));
      added->push_back(col.name);
    } else if (it->second != col.type && WidenDuckType(it->second, col.type) != it->second) {
      STRATA_RETURN_IF_ERROR(FailPoint("load_write"));
      STRATA_RETURN_IF_ERROR(c->Execute("ALTER TABLE " + rel + " ALTER COLUMN " + QuoteIdent(col.name) + " TYPE " +
                                        WidenDuckType(it->second, col.type)));
    }
  }
  return Status::OK();
}

// The planned files whose rows raw.<name> already holds: loaded, though the ledger lost them
// (duckdb.h). Their ledger rows are written again, their rows are not. A file held in part
// is kCorruption: nothing can say which of its rows are there.
Result<std::set<const TableLoadPlan::File*>> FilesAlreadyLoaded(duck::Connection* c, const std::string& name,
                                                                const TableLoadPlan& plan,
                                                                std::vector<std::string>* warnings) {
  std::set<const TableLoadPlan::File*> out;
  if (plan.files.empty()) return out;
  std::string keys;
  for (const auto& f : plan.files) keys += (keys.empty() ? "" : ", ") + QuoteLiteral(f.file->key);
  STRATA_ASSIGN_OR_RETURN(auto present, c->Query("SELECT _lake_file, count(*) FROM raw." + QuoteIdent(name) +
                                                 " WHERE _lake_file IN (" + keys + ") GROUP BY _lake_file"));
  std::map<std::string, int64_t> held;
  for (const auto& row : present.rows) held[*row[0]] = std::stoll(*row[1]);
  for (const auto& f : plan.files) {
    auto it = held.find(f.file->key);
    if (it == held.end()) continue;
    if (it->second != f.file->rows) {
      return Status::Corruption("raw." + name + " holds " + std::to_string(it->second) + " rows of lake file " +
                                f.file->key + ", which has " + std::to_string(f.file->rows) +
                                ", and the ledger does not list it: the table needs repair by hand");
    }
    out.insert(&f);
    warnings->push_back("lake file " + f.file->key +
                        " was loaded but missing from the ledger: recorded again, not "
                        "loaded twice");
  }
  return out;
}

// Writes the ledger rows of the plan: each planned file, and a marker for each batch without
// files to read (everything quarantined, or set aside) that the ledger lacks.
Status RecordLoaded(duck::Connection* c, const std::string& source, const std::string& table, const TableLoadPlan& plan,
                    const std::set<std::string>& loaded) {
  STRATA_ASSIGN_OR_RETURN(auto ins, c->Prepare("INSERT INTO raw._strata_loaded_files (file_key, source, table_name, "
                                               "batch_id, sequence, rows, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  auto record = [&](const std::string& key, const lake::Manifest& m, int64_t rows, const std::string& sha) {
    Status s = FailPoint("load_write");
    if (s.ok()) s = ins->Bind(1, key);
    if (s.ok()) s = ins->Bind(2, source);
    if (s.ok()) s = ins->Bind(3, table);
    if (s.ok()) s = ins->Bind(4, m.batch_id);
    if (s.ok()) s = ins->Bind(5, static_cast<int64_t>(m.sequence));
    if (s.ok()) s = ins->Bind(6, rows);
    if (s.ok()) s = ins->Bind(7, sha);
    if (s.ok()) s = ins->Execute().status();
    return s.WithContext("recording lake file " + key);
  };
  for (const auto& f : plan.files)
    STRATA_RETURN_IF_ERROR(record(f.file->key, *f.manifest, f.file->rows, f.file->sha256));
  for (const auto& [m, marker] : plan.markers) {
    if (loaded.count(marker) == 0) STRATA_RETURN_IF_ERROR(record(marker, *m, 0, ""));
  }
  return Status::OK();
}

}  // namespace

Status Warehouse::LoadTable(lake::Lake* lake, const std::string& source, const std::string& table, LoadResult* result) {
  duck::Connection* c = conn_.get();
  const std::string name = RelationName(source, table);

  std::set<std::string> loaded;
  STRATA_ASSIGN_OR_RETURN(int64_t after, LoadedThrough(lake, source, table, &loaded));
  STRATA_ASSIGN_OR_RETURN(TableLoadPlan plan, PlanTableLoad(lake, source, table, after));
  if (plan.manifests.empty()) return Status::OK();
  // Files the ledger already names are never read again.
  std::erase_if(plan.files, [&](const TableLoadPlan::File& f) { return loaded.count(f.file->key) > 0; });

  STRATA_ASSIGN_OR_RETURN(auto tx, Transaction<duck::Connection>::Begin(c));
  bool existed = false;
  STRATA_RETURN_IF_ERROR(EvolveRawTable(c, name, plan.schema, &existed, &result->added_columns));
  std::set<const TableLoadPlan::File*> already;
  if (existed) {
    STRATA_ASSIGN_OR_RETURN(already, FilesAlreadyLoaded(c, name, plan, &result->warnings));
  }
  TableLoadPlan reading = plan;  // the files to read
  reading.files.clear();
  int64_t expected_rows = 0;
  for (const auto& f : plan.files) {
    if (already.count(&f) > 0) continue;
    reading.files.push_back(f);
    expected_rows += f.file->rows;
  }
  result->batches = static_cast<int>(plan.manifests.size());
  result->files = static_cast<int>(reading.files.size());
  if (!reading.files.empty()) {
    STRATA_RETURN_IF_ERROR(FailPoint("load_write"));
    auto inserted = c->Query("INSERT INTO raw." + QuoteIdent(name) + " BY NAME " + reading.Select());
    if (!inserted.ok()) {
      tx.RollbackNow();  // before probing the files one by one
      return reading.ExplainReadFailure(c, inserted.status());
    }
    result->rows = inserted->AffectedRows();
    if (result->rows != expected_rows) {
      return Status::Corruption("lake files of " + source + "." + table + " hold " + std::to_string(result->rows) +
                                " rows, their manifests say " + std::to_string(expected_rows));
    }
  }
  STRATA_RETURN_IF_ERROR(RecordLoaded(c, source, table, plan, loaded));
  CrashPoint("load_before_commit");
  STRATA_RETURN_IF_ERROR(FailPoint("load_write"));
  return tx.Commit();
}

nlohmann::json ToJson(const LoadResult& r) {
  return {{"source", r.source},    {"table", r.table}, {"relation", r.relation}, {"batches", r.batches},
          {"files", r.files},      {"rows", r.rows},   {"seconds", r.seconds},   {"added_columns", r.added_columns},
          {"warnings", r.warnings}};
}

}  // namespace strata::warehouse
