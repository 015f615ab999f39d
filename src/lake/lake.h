// Lake: the raw (bronze) layer on top of an ObjectStore: batches, manifests, quarantine.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "lake/manifest.h"
#include "lake/object_store.h"

namespace strata::lake {

class BatchWriter;

class Lake {
 public:
  explicit Lake(std::unique_ptr<ObjectStore> store) : store_(std::move(store)) {}

  ObjectStore* store() { return store_.get(); }

  // Committed manifests of (source, table) with sequence > `after_sequence`, in order.
  Result<std::vector<Manifest>> Manifests(const std::string& source, const std::string& table,
                                          int64_t after_sequence = 0);
  // The latest committed manifest, if any.
  Result<std::optional<Manifest>> Latest(const std::string& source, const std::string& table);
  // Checks a committed file of `m` against what the manifest records of it (present, its
  // size, its SHA-256, which reads the whole file) and returns a local path from which the
  // engines can read it. kCorruption names the file and its batch.
  Result<std::string> CheckedPath(const Manifest& m, const ManifestFile& f);

  // Sets a committed batch aside, for a batch that cannot be loaded (an operator's way out of
  // a poisoned batch: `strata lake quarantine-batch`). An audit record is written first
  // (SetAsideKey: who, when, why, the manifest, where each file went), then each data file
  // moves under quarantine/<source>/<table>/set_aside/<batch>/. From the record on, loads skip
  // the batch; its manifest and the connector state stay, so ingestion goes on after it.
  // Nothing is edited in place or deleted. Run again after an interruption, it completes the
  // moves. Returns the record (JSON).
  Result<nlohmann::json> SetAsideBatch(const std::string& source, const std::string& table, const std::string& batch_id,
                                       const std::string& reason);
  // The batch ids of (source, table) that were set aside.
  Result<std::set<std::string>> SetAsideBatches(const std::string& source, const std::string& table);

  // Every (source, table) with at least one committed batch, sorted.
  Result<std::vector<std::pair<std::string, std::string>>> Tables();

  // Checks every file of every committed batch (set-aside batches aside) against its manifest:
  // present, its size, its SHA-256 (reading it all). Problems are reported, not fixed.
  struct VerifyProblem {
    std::string key, batch, reason;
  };
  struct VerifyReport {
    int64_t batches = 0, files = 0, bytes = 0;
    std::vector<VerifyProblem> problems;
  };
  Result<VerifyReport> Verify();

  // Removes what failed attempts left behind: data parts and quarantine files under a dt=
  // partition that no committed manifest names (a committed file is never touched), and, on
  // S3, multipart uploads never completed. With `dry_run`, only lists them. The caller must
  // hold every table's ingest lock: an attempt in progress looks the same as a failed one.
  struct GcReport {
    std::vector<std::string> removed;  // keys
    int64_t bytes = 0;
    int64_t incomplete_uploads = 0;
  };
  Result<GcReport> CollectGarbage(bool dry_run);

  // Starts the next batch of (source, table) in the dt=`date` partition. The caller must hold
  // the table's ingest lock: leftovers of earlier failed attempts at the same batch id are
  // removed here, which is only safe when no one else writes that table.
  Result<std::unique_ptr<BatchWriter>> BeginBatch(const std::string& source, const std::string& table,
                                                  const std::string& date);

 private:
  Result<std::vector<std::string>> ManifestKeys(const std::string& source, const std::string& table);
  std::unique_ptr<ObjectStore> store_;
};

// Builds one batch. Data parts first, then quarantine, then the manifest (Commit).
// Not thread-safe. Destroying a writer without Commit leaves only invisible garbage.
class BatchWriter {
 public:
  BatchWriter(ObjectStore* store, std::string source, std::string table, std::string date, int64_t sequence);

  const std::string& batch_id() const { return batch_id_; }
  int64_t sequence() const { return sequence_; }
  const std::string& date() const { return date_; }

  // A writer for the next data part, e.g. ext "parquet" or "jsonl.zst".
  Result<std::unique_ptr<ObjectWriter>> NewPart(const std::string& ext, std::string* key);
  // Records a committed part in the manifest.
  void AddFile(ManifestFile file) { files_.push_back(std::move(file)); }
  const std::vector<ManifestFile>& files() const { return files_; }

  // Records a rejected record: where it came from (e.g. {"file":..,"line":..} or
  // {"page":..,"index":..}), why, and the record text as received.
  void Quarantine(const nlohmann::json& position, std::string_view reason, std::string_view record);
  int64_t quarantined() const { return quarantined_; }

  // Writes the quarantine file (if any) and then the manifest, which makes the batch exist.
  // `m` supplies schema, record counts, state and details; identity fields are filled here.
  Result<Manifest> Commit(Manifest m);

 private:
  ObjectStore* store_;
  std::string source_, table_, date_, batch_id_;
  int64_t sequence_;
  int next_part_ = 0;
  std::vector<ManifestFile> files_;
  std::string quarantine_;
  int64_t quarantined_ = 0;
};

}  // namespace strata::lake
