#include "lake/lake.h"

#include <cstdlib>
#include <ctime>
#include <set>

#include "core/date.h"
#include "core/file.h"
#include "core/hash.h"
#include "lake/s3_object_store.h"

namespace strata::lake {

Result<std::vector<std::string>> Lake::ManifestKeys(const std::string& source, const std::string& table) {
  STRATA_ASSIGN_OR_RETURN(auto objects, store_->List(ManifestPrefix(source, table)));
  std::vector<std::string> keys;
  for (auto& o : objects) {
    if (o.key.size() > 5 && o.key.compare(o.key.size() - 5, 5, ".json") == 0) keys.push_back(o.key);
  }
  return keys;  // sorted by key == sorted by sequence (fixed-width batch ids)
}

Result<std::vector<Manifest>> Lake::Manifests(const std::string& source, const std::string& table,
                                              int64_t after_sequence) {
  STRATA_ASSIGN_OR_RETURN(auto keys, ManifestKeys(source, table));
  std::vector<Manifest> out;
  std::string after_key = ManifestKey(source, table, BatchId(after_sequence));
  for (const auto& key : keys) {
    if (after_sequence > 0 && key <= after_key) continue;
    STRATA_ASSIGN_OR_RETURN(std::string text, store_->Get(key));
    STRATA_ASSIGN_OR_RETURN(Manifest m, Manifest::Parse(text, store_->uri() + "/" + key));
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::optional<Manifest>> Lake::Latest(const std::string& source, const std::string& table) {
  STRATA_ASSIGN_OR_RETURN(auto keys, ManifestKeys(source, table));
  if (keys.empty()) return std::optional<Manifest>();
  STRATA_ASSIGN_OR_RETURN(std::string text, store_->Get(keys.back()));
  STRATA_ASSIGN_OR_RETURN(Manifest m, Manifest::Parse(text, store_->uri() + "/" + keys.back()));
  return std::optional<Manifest>(std::move(m));
}

Result<std::string> Lake::CheckedPath(const Manifest& m, const ManifestFile& f) {
  const std::string what = "lake file " + f.key + " (batch " + m.batch_id + ")";
  auto info = store_->Stat(f.key);
  if (!info.ok()) {
    return Status::Corruption(
        what + (info.status().code() == Status::Code::kNotFound ? " is missing: " : " cannot be read: ") +
        info.status().message());
  }
  if (info->size != f.bytes) {
    return Status::Corruption(what + " has " + std::to_string(info->size) + " bytes, its manifest says " +
                              std::to_string(f.bytes));
  }
  // Hash the copy the engines will read (for a remote store, its local copy: one download).
  auto path = store_->ReadablePath(f.key);
  if (!path.ok()) return Status::Corruption(what + " cannot be read: " + path.status().message());
  int64_t read = 0;
  auto hashed = Sha256::OfFile(*path, &read);
  if (!hashed.ok()) return Status::Corruption(what + " cannot be read: " + hashed.status().message());
  const std::string digest = *hashed;
  if (read != f.bytes) {
    return Status::Corruption(what + " reads as " + std::to_string(read) + " bytes, its manifest says " +
                              std::to_string(f.bytes));
  }
  if (digest != f.sha256) {
    return Status::Corruption(what + " does not match its manifest: its SHA-256 is " + digest +
                              ", the manifest records " + f.sha256 + "; it was changed after it was committed");
  }
  return *path;
}

Result<nlohmann::json> Lake::SetAsideBatch(const std::string& source, const std::string& table,
                                           const std::string& batch_id, const std::string& reason) {
  const std::string record_key = SetAsideKey(source, table, batch_id);
  nlohmann::json record;
  STRATA_ASSIGN_OR_RETURN(bool recorded, store_->Exists(record_key));
  if (recorded) {
    STRATA_ASSIGN_OR_RETURN(std::string text, store_->Get(record_key));
    record = nlohmann::json::parse(text, nullptr, false);
    if (record.is_discarded()) return Status::Corruption(store_->uri() + "/" + record_key + " is not valid JSON");
  } else {
    const std::string manifest_key = ManifestKey(source, table, batch_id);
    STRATA_ASSIGN_OR_RETURN(bool exists, store_->Exists(manifest_key));
    if (!exists) {
      return Status::NotFound("no committed batch " + batch_id + " of " + source + "." + table + " (no " +
                              manifest_key + ")");
    }
    STRATA_ASSIGN_OR_RETURN(std::string text, store_->Get(manifest_key));
    STRATA_ASSIGN_OR_RETURN(Manifest m, Manifest::Parse(text, store_->uri() + "/" + manifest_key));
    const char* user = std::getenv("USER");
    record = {{"batch_id", batch_id},
              {"source", source},
              {"table", table},
              {"reason", reason},
              {"set_aside_at", FormatTimestamp(static_cast<int64_t>(std::time(nullptr)))},
              {"by", user != nullptr ? user : ""},
              {"manifest", nlohmann::json::parse(text)},
              {"moved", nlohmann::json::array()}};
    for (const auto& f : m.files) {
      const std::string name = f.key.substr(f.key.rfind('/') + 1);
      record["moved"].push_back({{"from", f.key},
                                 {"to", "quarantine/" + source + "/" + table + "/set_aside/" + batch_id + "/" + name},
                                 {"rows", f.rows},
                                 {"sha256", f.sha256}});
    }
    // The record first: from here on no load reads the batch, moved or not.
    STRATA_RETURN_IF_ERROR(store_->Put(record_key, record.dump(2) + "\n").status());
  }
  for (const auto& move : record["moved"]) {
    STRATA_RETURN_IF_ERROR(store_->Move(move["from"].get<std::string>(), move["to"].get<std::string>()));
  }
  return record;
}

Result<std::set<std::string>> Lake::SetAsideBatches(const std::string& source, const std::string& table) {
  const std::string prefix = "raw/" + source + "/" + table + "/_set_aside/";
  STRATA_ASSIGN_OR_RETURN(auto objects, store_->List(prefix));
  std::set<std::string> out;
  for (const auto& o : objects) {
    if (o.key.size() > prefix.size() + 5 && o.key.compare(o.key.size() - 5, 5, ".json") == 0) {
      out.insert(o.key.substr(prefix.size(), o.key.size() - prefix.size() - 5));
    }
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> Lake::Tables() {
  STRATA_ASSIGN_OR_RETURN(auto objects, store_->List("raw/"));
  std::set<std::pair<std::string, std::string>> tables;
  for (const auto& o : objects) {
    // raw/<source>/<table>/_manifests/<batch>.json
    size_t a = o.key.find('/', 4);
    if (a == std::string::npos) continue;
    size_t b = o.key.find('/', a + 1);
    if (b == std::string::npos || o.key.compare(b, 12, "/_manifests/") != 0) continue;
    tables.emplace(o.key.substr(4, a - 4), o.key.substr(a + 1, b - a - 1));
  }
  return std::vector<std::pair<std::string, std::string>>(tables.begin(), tables.end());
}

Result<Lake::VerifyReport> Lake::Verify() {
  VerifyReport report;
  STRATA_ASSIGN_OR_RETURN(auto tables, Tables());
  for (const auto& [source, table] : tables) {
    STRATA_ASSIGN_OR_RETURN(auto manifests, Manifests(source, table));
    STRATA_ASSIGN_OR_RETURN(auto aside, SetAsideBatches(source, table));
    for (const auto& m : manifests) {
      if (aside.count(m.batch_id)) continue;
      ++report.batches;
      std::vector<const ManifestFile*> files;
      for (const auto& f : m.files) files.push_back(&f);
      if (m.quarantine) files.push_back(&*m.quarantine);
      for (const ManifestFile* f : files) {
        ++report.files;
        report.bytes += f->bytes;
        auto checked = CheckedPath(m, *f);
        if (!checked.ok())
          report.problems.push_back({f->key, source + "." + table + " " + m.batch_id, checked.status().message()});
      }
    }
  }
  return report;
}

Result<Lake::GcReport> Lake::CollectGarbage(bool dry_run) {
  GcReport report;
  // Every file a committed manifest names, set-aside ones included (their files moved under
  // quarantine/<source>/<table>/set_aside/, which is never collected).
  std::set<std::string> named;
  STRATA_ASSIGN_OR_RETURN(auto tables, Tables());
  for (const auto& [source, table] : tables) {
    STRATA_ASSIGN_OR_RETURN(auto manifests, Manifests(source, table));
    for (const auto& m : manifests) {
      for (const auto& f : m.files) named.insert(f.key);
      if (m.quarantine) named.insert(m.quarantine->key);
    }
  }
  for (const char* root : {"raw/", "quarantine/"}) {
    STRATA_ASSIGN_OR_RETURN(auto objects, store_->List(root));
    for (const auto& o : objects) {
      // Only files of dt= partitions: manifests, set-aside records and set-aside files stay.
      if (o.key.find("/dt=") == std::string::npos || named.count(o.key)) continue;
      if (!dry_run) STRATA_RETURN_IF_ERROR(store_->Delete(o.key));
      report.removed.push_back(o.key);
      report.bytes += o.size;
    }
  }
  STRATA_ASSIGN_OR_RETURN(report.incomplete_uploads, AbortIncompleteUploads(store_.get(), dry_run));
  return report;
}

Result<std::unique_ptr<BatchWriter>> Lake::BeginBatch(const std::string& source, const std::string& table,
                                                      const std::string& date) {
  STRATA_ASSIGN_OR_RETURN(auto latest, Latest(source, table));
  int64_t sequence = latest ? latest->sequence + 1 : 1;
  std::string batch_id = BatchId(sequence);
  // Leftovers of a failed attempt at this batch in this partition (never in a manifest).
  std::string prefix = "raw/" + source + "/" + table + "/dt=" + date + "/" + batch_id + "-";
  STRATA_ASSIGN_OR_RETURN(auto leftovers, store_->List(prefix));
  for (const auto& o : leftovers) STRATA_RETURN_IF_ERROR(store_->Delete(o.key));
  STRATA_RETURN_IF_ERROR(store_->Delete(QuarantineKey(source, table, date, batch_id)));
  return std::make_unique<BatchWriter>(store_.get(), source, table, date, sequence);
}

namespace {

// The data parts and the quarantine file of `m`.
std::vector<const ManifestFile*> FilesOf(const Manifest& m) {
  std::vector<const ManifestFile*> out;
  for (const auto& f : m.files) out.push_back(&f);
  if (m.quarantine) out.push_back(&*m.quarantine);
  return out;
}

}  // namespace

BatchWriter::BatchWriter(ObjectStore* store, std::string source, std::string table, std::string date, int64_t sequence)
    : store_(store),
      source_(std::move(source)),
      table_(std::move(table)),
      date_(std::move(date)),
      batch_id_(BatchId(sequence)),
      sequence_(sequence) {}

Result<std::unique_ptr<ObjectWriter>> BatchWriter::NewPart(const std::string& ext, std::string* key) {
  *key = DataKey(source_, table_, date_, batch_id_, next_part_++, ext);
  return store_->NewWriter(*key);
}

void BatchWriter::Quarantine(const nlohmann::json& position, std::string_view reason, std::string_view record) {
  nlohmann::json j;
  j["batch_id"] = batch_id_;
  j["source"] = source_;
  j["table"] = table_;
  j["position"] = position;
  j["reason"] = reason;
  // Records are kept byte for byte; invalid UTF-8 is replaced only in this JSON wrapper.
  j["record"] = record;
  quarantine_ += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  quarantine_.push_back('\n');
  ++quarantined_;
}

Result<Manifest> BatchWriter::Commit(Manifest m) {
  m.source = source_;
  m.table = table_;
  m.batch_id = batch_id_;
  m.sequence = sequence_;
  m.logical_date = date_;
  m.created_at = FormatTimestamp(static_cast<int64_t>(std::time(nullptr)));
  m.files = files_;
  if (quarantined_ > 0) {
    std::string key = QuarantineKey(source_, table_, date_, batch_id_);
    STRATA_ASSIGN_OR_RETURN(ObjectInfo info, store_->Put(key, quarantine_));
    m.quarantine = ManifestFile{key, "jsonl", quarantined_, info.size, info.sha256};
  }
  m.records_quarantined = quarantined_;
  // The manifest is the commit point: it never names a part that is not there in full (a
  // store may lose a write it acknowledged, e.g. a rename lost with the machine's power).
  for (const ManifestFile* f : FilesOf(m)) {
    auto info = store_->Stat(f->key);
    if (!info.ok() || info->size != f->bytes) {
      return Status::IOError(
          "batch " + batch_id_ + " of " + source_ + "." + table_ + ": the part " + f->key +
          (info.ok() ? " has " + std::to_string(info->size) + " bytes instead of " + std::to_string(f->bytes)
                     : " is not in the store after its commit (" + info.status().message() + ")") +
          "; the batch is not committed, and a rerun writes it again");
    }
  }
  CrashPoint("before_manifest");
  STRATA_RETURN_IF_ERROR(store_->Put(ManifestKey(source_, table_, batch_id_), m.ToJson()).status());
  return m;
}

}  // namespace strata::lake
