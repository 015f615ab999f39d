#include "warehouse/warehouse.h"

#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include "core/file.h"
#include "core/parallel.h"

namespace strata::warehouse {

namespace fs = std::filesystem;
using duck::QuoteIdent;
using duck::QuoteLiteral;

Result<std::unique_ptr<Warehouse>> Warehouse::Open(const WarehouseConfig& config) {
  std::unique_ptr<Warehouse> w(new Warehouse());
  w->path_ = config.path;
  if (!config.path.empty()) STRATA_RETURN_IF_ERROR(MakeDirs(fs::path(config.path).parent_path().string()));
  std::map<std::string, std::string> settings;
  if (config.threads > 0) settings["threads"] = std::to_string(config.threads);
  if (!config.memory_limit.empty()) settings["memory_limit"] = config.memory_limit;
  STRATA_ASSIGN_OR_RETURN(w->db_, duck::Database::Open(config.path, settings));
  STRATA_ASSIGN_OR_RETURN(w->conn_, w->db_->Connect());
  STRATA_RETURN_IF_ERROR(w->EnsureMetadata());
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

Status Warehouse::LoadRaw(lake::Lake* lake, std::vector<LoadResult>* results,
                          const std::function<void(const LoadResult&)>& on_table) {
  STRATA_ASSIGN_OR_RETURN(auto tables, lake->Tables());
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
      // This table stays as it was; the others still load.
      if (failed++ == 0) first_error = s.WithContext("loading " + r.relation);
      continue;
    }
    if (on_table) on_table(r);
    results->push_back(std::move(r));
  }
  bool loaded_any = false;
  for (const auto& r : *results) loaded_any |= r.files > 0;
  if (loaded_any) {
    // Fold the WAL into the database file now, not in the middle of a later load or query.
    Status s = conn_->Execute("CHECKPOINT");
    if (!s.ok() && first_error.ok()) first_error = s.WithContext("checkpoint after load");
  }
  if (failed > 1) {
    return first_error.WithContext(std::to_string(failed) + " tables failed to load; the first");
  }
  return first_error;
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
  std::map<std::string, size_t> pos;
  for (const auto& m : plan.manifests) {
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
        return Status::Corruption("batch " + m.batch_id + " mixes file formats (" + plan.format + ", " + f.format + ")");
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
  STRATA_ASSIGN_OR_RETURN(std::string any, lake->store()->ReadablePath("x"));
  plan.root_length = any.size() - 1;
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
      return Status::Corruption("lake file " + f.file->key + " (batch " + f.manifest->batch_id + " of " + source +
                                "." + table + ") cannot be read: " + probe.status().message());
    }
  }
  return error;
}

Status Warehouse::LoadTable(lake::Lake* lake, const std::string& source, const std::string& table,
                            LoadResult* result) {
  duck::Connection* c = conn_.get();
  const std::string rel = "raw." + QuoteIdent(RelationName(source, table));

  STRATA_ASSIGN_OR_RETURN(auto done, c->Query("SELECT coalesce(max(sequence), 0) FROM raw._strata_loaded_files "
                                              "WHERE source = " + QuoteLiteral(source) +
                                              " AND table_name = " + QuoteLiteral(table)));
  int64_t after = std::stoll(done.Scalar().value_or("0"));
  STRATA_ASSIGN_OR_RETURN(TableLoadPlan plan, PlanTableLoad(lake, source, table, after));
  if (plan.manifests.empty()) return Status::OK();
  const auto& schema = plan.schema;
  result->batches = static_cast<int>(plan.manifests.size());
  result->files = static_cast<int>(plan.files.size());

  STRATA_RETURN_IF_ERROR(c->Begin());
  auto fail = [&](Status s) {
    (void)c->Rollback();
    return s;
  };

  // Create or evolve the table.
  STRATA_ASSIGN_OR_RETURN(auto existing,
                          c->Query("SELECT column_name, data_type FROM information_schema.columns WHERE "
                                   "table_schema = 'raw' AND table_name = " +
                                   QuoteLiteral(RelationName(source, table)) + " ORDER BY ordinal_position"));
  if (existing.rows.empty()) {
    std::string ddl = "CREATE TABLE " + rel + " (";
    for (const auto& col : schema) ddl += QuoteIdent(col.name) + " " + col.type + ", ";
    ddl += "_lake_file VARCHAR NOT NULL)";
    Status s = c->Execute(ddl);
    if (!s.ok()) return fail(s);
  } else {
    std::map<std::string, std::string> have;
    for (const auto& row : existing.rows) have[*row[0]] = *row[1];
    for (const auto& col : schema) {
      auto it = have.find(col.name);
      if (it == have.end()) {
        Status s = c->Execute("ALTER TABLE " + rel + " ADD COLUMN " + QuoteIdent(col.name) + " " + col.type);
        if (!s.ok()) return fail(s);
        result->added_columns.push_back(col.name);
      } else if (it->second != col.type && WidenDuckType(it->second, col.type) != it->second) {
        Status s = c->Execute("ALTER TABLE " + rel + " ALTER COLUMN " + QuoteIdent(col.name) + " TYPE " +
                              WidenDuckType(it->second, col.type));
        if (!s.ok()) return fail(s);
      }
    }
  }

  auto inserted = c->Query("INSERT INTO " + rel + " BY NAME " + plan.Select());
  if (!inserted.ok()) {
    (void)c->Rollback();
    return plan.ExplainReadFailure(c, inserted.status());
  }
  int64_t rows = inserted->AffectedRows();
  if (rows != plan.expected_rows) {
    (void)c->Rollback();
    return Status::Corruption("lake files of " + source + "." + table + " hold " + std::to_string(rows) +
                              " rows, their manifests say " + std::to_string(plan.expected_rows));
  }
  result->rows = rows;

  STRATA_ASSIGN_OR_RETURN(auto ins, c->Prepare("INSERT INTO raw._strata_loaded_files (file_key, source, table_name, "
                                               "batch_id, sequence, rows, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  for (const auto& f : plan.files) {
    Status s = ins->Bind(1, f.file->key);
    if (s.ok()) s = ins->Bind(2, source);
    if (s.ok()) s = ins->Bind(3, table);
    if (s.ok()) s = ins->Bind(4, f.manifest->batch_id);
    if (s.ok()) s = ins->Bind(5, static_cast<int64_t>(f.manifest->sequence));
    if (s.ok()) s = ins->Bind(6, static_cast<int64_t>(f.file->rows));
    if (s.ok()) s = ins->Bind(7, f.file->sha256);
    if (s.ok()) s = ins->Execute().status();
    if (!s.ok()) return fail(s.WithContext("recording lake file " + f.file->key));
  }
  // A batch with no data files (everything quarantined) is recorded through a marker row so
  // that its sequence counts as loaded.
  for (const auto& m : plan.manifests) {
    if (!m.files.empty()) continue;
    std::string marker = lake::ManifestKey(source, table, m.batch_id);
    Status s = c->Execute("INSERT INTO raw._strata_loaded_files (file_key, source, table_name, batch_id, sequence, "
                          "rows, sha256) VALUES (" + QuoteLiteral(marker) + ", " + QuoteLiteral(source) + ", " +
                          QuoteLiteral(table) + ", " + QuoteLiteral(m.batch_id) + ", " +
                          std::to_string(m.sequence) + ", 0, '')");
    if (!s.ok()) return fail(s);
  }
  CrashPoint("load_before_commit");
  return c->Commit();
}

nlohmann::json ToJson(const LoadResult& r) {
  return {{"source", r.source}, {"table", r.table}, {"relation", r.relation}, {"batches", r.batches},
          {"files", r.files},   {"rows", r.rows},   {"seconds", r.seconds},   {"added_columns", r.added_columns}};
}

}  // namespace strata::warehouse
