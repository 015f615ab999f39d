#include "lake/memory_object_store.h"

#include <filesystem>

#include "core/file.h"
#include "core/hash.h"

namespace strata::lake {

namespace fs = std::filesystem;

class MemoryWriter : public ObjectWriter {
 public:
  MemoryWriter(MemoryObjectStore* store, std::string key, std::string staging)
      : store_(store), key_(std::move(key)), staging_(std::move(staging)) {}
  ~MemoryWriter() override { Abort(); }

  Status Append(std::string_view data) override {
    if (done_) return Status::Internal("append to a closed writer for '" + key_ + "'");
    bytes_.append(data);
    appended_ = true;
    return Status::OK();
  }
  const std::string& staging_path() const override { return staging_; }
  Result<ObjectInfo> Commit() override {
    if (done_) return Status::Internal("commit of a closed writer for '" + key_ + "'");
    done_ = true;
    if (!appended_) {
      // Written by a producer through staging_path() (or nothing written: an empty object).
      std::error_code ec;
      if (fs::exists(staging_, ec)) {
        STRATA_ASSIGN_OR_RETURN(bytes_, ReadFile(staging_));
      }
    }
    std::error_code ec;
    fs::remove(staging_, ec);
    ObjectInfo info{key_, static_cast<int64_t>(bytes_.size()), Sha256::Of(bytes_)};
    STRATA_RETURN_IF_ERROR(store_->CommitObject(key_, std::move(bytes_)));
    return info;
  }
  void Abort() override {
    if (done_) return;
    done_ = true;
    std::error_code ec;
    fs::remove(staging_, ec);
  }

 private:
  MemoryObjectStore* store_;
  std::string key_, staging_, bytes_;
  bool appended_ = false;
  bool done_ = false;
};

MemoryObjectStore::MemoryObjectStore(std::string scratch_dir) : scratch_(std::move(scratch_dir)) {}

void MemoryObjectStore::FaultCommit(int n, Fault fault, const std::string& key_part) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back({n, fault, key_part});
}

void MemoryObjectStore::TruncateReads(const std::string& key_part, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  truncations_.emplace_back(key_part, bytes);
}

void MemoryObjectStore::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
  truncations_.clear();
}

int MemoryObjectStore::commits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return commits_;
}

std::map<std::string, std::string> MemoryObjectStore::Objects() const {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_;
}

Status MemoryObjectStore::CommitObject(const std::string& key, std::string bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  ++commits_;
  if (objects_.count(key)) return Status::AlreadyExists("object '" + key + "' already exists and is immutable");
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (key.find(it->key_part) == std::string::npos || --it->countdown > 0) continue;
    const Fault fault = it->fault;
    faults_.erase(it);
    const std::string injected = "injected fault at the commit of '" + key + "'";
    switch (fault) {
      case Fault::kFailWrite:
        return Status::IOError(injected + ": the write failed");
      case Fault::kFailAfterWrite:
        objects_[key] = std::move(bytes);
        return Status::IOError(injected + ": the connection dropped after the write");
      case Fault::kLoseWrite:
        return Status::OK();
      case Fault::kTornWrite:
        bytes.resize(bytes.size() / 2);
        objects_[key] = std::move(bytes);
        return Status::OK();
    }
  }
  objects_[key] = std::move(bytes);
  return Status::OK();
}

Result<std::string> MemoryObjectStore::ReadLocked(const std::string& key) const {
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::NotFound("no object '" + key + "' in " + uri());
  std::string bytes = it->second;
  for (const auto& [part, limit] : truncations_) {
    if (key.find(part) != std::string::npos && static_cast<int64_t>(bytes.size()) > limit) {
      bytes.resize(static_cast<size_t>(limit));
    }
  }
  return bytes;
}

Result<std::unique_ptr<ObjectWriter>> MemoryObjectStore::NewWriter(const std::string& key) {
  STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
  std::string staging;
  {
    std::lock_guard<std::mutex> lock(mu_);
    staging = scratch_ + "/.staging-" + std::to_string(staged_++) + ".tmp";
  }
  return std::unique_ptr<ObjectWriter>(new MemoryWriter(this, key, staging));
}

Result<std::string> MemoryObjectStore::Get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return ReadLocked(key);
}

Status MemoryObjectStore::Read(const std::string& key, const std::function<Status(std::string_view chunk)>& sink) {
  std::string bytes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    STRATA_ASSIGN_OR_RETURN(bytes, ReadLocked(key));
  }
  constexpr size_t kChunk = 64 << 10;  // several chunks per part: the callers' loops are exercised
  for (size_t at = 0; at < bytes.size(); at += kChunk) {
    STRATA_RETURN_IF_ERROR(sink(std::string_view(bytes).substr(at, kChunk)));
  }
  return Status::OK();
}

Result<ObjectInfo> MemoryObjectStore::Stat(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::NotFound("no object '" + key + "' in " + uri());
  return ObjectInfo{key, static_cast<int64_t>(it->second.size()), ""};
}

Result<bool> MemoryObjectStore::Exists(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_.count(key) > 0;
}

Result<std::vector<ObjectInfo>> MemoryObjectStore::List(const std::string& prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectInfo> out;
  for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    out.push_back({it->first, static_cast<int64_t>(it->second.size()), ""});
  }
  return out;
}

Status MemoryObjectStore::Delete(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  objects_.erase(key);
  return Status::OK();
}

Status MemoryObjectStore::Move(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(from);
  if (it == objects_.end()) {
    if (objects_.count(to)) return Status::OK();  // moved before
    return Status::NotFound("no object '" + from + "' in " + uri());
  }
  if (objects_.count(to)) return Status::AlreadyExists("object '" + to + "' already exists and is immutable");
  objects_[to] = std::move(it->second);
  objects_.erase(it);
  return Status::OK();
}

Result<std::string> MemoryObjectStore::ReadablePath(const std::string& key) {
  std::string bytes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    STRATA_ASSIGN_OR_RETURN(bytes, ReadLocked(key));
  }
  const std::string path = scratch_ + "/objects/" + key;
  STRATA_RETURN_IF_ERROR(MakeDirs(fs::path(path).parent_path().string()));
  STRATA_RETURN_IF_ERROR(WriteFileAtomic(path, bytes));
  return path;
}

}  // namespace strata::lake
