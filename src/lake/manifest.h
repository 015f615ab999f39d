// Manifest: the record of one committed lake batch. Written last; a batch without a
// manifest does not exist for readers. It also carries the connector state after the batch,
// so that state and data commit together.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace strata::lake {

struct ManifestFile {
  std::string key;     // object key in the lake
  std::string format;  // "parquet" or "jsonl.zst"
  int64_t rows = 0;
  int64_t bytes = 0;
  std::string sha256;
};

struct ColumnSchema {
  std::string name;
  std::string type;  // DuckDB type name
  bool operator==(const ColumnSchema&) const = default;
};

struct Manifest {
  static constexpr int kVersion = 1;

  std::string source;
  std::string table;
  std::string batch_id;      // "b00000012"
  int64_t sequence = 0;      // 1, 2, ... per (source, table)
  std::string logical_date;  // YYYY-MM-DD: the dt= partition
  std::string created_at;    // wall-clock time of the commit (informational only)
  std::vector<ManifestFile> files;
  std::vector<ColumnSchema> schema;
  std::optional<ManifestFile> quarantine;  // rejected records, if any
  int64_t records_received = 0;
  int64_t records_landed = 0;
  int64_t records_quarantined = 0;
  nlohmann::json state = nlohmann::json::object();    // connector state after this batch
  nlohmann::json details = nlohmann::json::object();  // connector-specific facts (pages, files)

  std::string ToJson() const;
  // `where` names the manifest in error messages.
  static Result<Manifest> Parse(const std::string& text, const std::string& where);
};

// Lake layout (Hive-style):
//   raw/<source>/<table>/dt=YYYY-MM-DD/<batch>-<part>.<ext>   data (immutable)
//   raw/<source>/<table>/_manifests/<batch>.json               manifest (written last)
//   quarantine/<source>/<table>/dt=YYYY-MM-DD/<batch>.jsonl     rejected records
//   raw/<source>/<table>/_set_aside/<batch>.json               an operator set the batch aside
//   quarantine/<source>/<table>/set_aside/<batch>/<file>        ... and its data files
std::string BatchId(int64_t sequence);
std::string DataKey(const std::string& source, const std::string& table, const std::string& date,
                    const std::string& batch_id, int part, const std::string& ext);
std::string ManifestPrefix(const std::string& source, const std::string& table);
std::string ManifestKey(const std::string& source, const std::string& table, const std::string& batch_id);
std::string QuarantineKey(const std::string& source, const std::string& table, const std::string& date,
                          const std::string& batch_id);
std::string SetAsideKey(const std::string& source, const std::string& table, const std::string& batch_id);

}  // namespace strata::lake
