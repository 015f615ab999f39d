// MemoryObjectStore: an ObjectStore held in memory that misbehaves on request, for tests of
// what the lake and the warehouse load do when a store fails, loses or tears a write, or
// returns short reads. Thread-safe.
//
// ReadablePath writes the object's bytes (as a read would return them) under a scratch
// directory, as a remote store stages objects for the engines.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "lake/object_store.h"

namespace strata::lake {

class MemoryObjectStore : public ObjectStore {
 public:
  enum class Fault {
    kFailWrite,       // the commit fails and nothing becomes visible
    kFailAfterWrite,  // the object becomes visible, but the commit reports an error
    kLoseWrite,       // the commit reports success, but nothing becomes visible (a lost rename)
    kTornWrite,       // the commit reports success, but only the first half of the bytes is there
  };

  // `scratch_dir` receives staging files and ReadablePath's copies; it must exist.
  explicit MemoryObjectStore(std::string scratch_dir);

  // The `n`th commit from now (1: the next) whose key contains `key_part` gets `fault`.
  void FaultCommit(int n, Fault fault, const std::string& key_part = "");
  // From now on, reads of keys containing `key_part` return only their first `bytes` bytes.
  void TruncateReads(const std::string& key_part, int64_t bytes);
  void ClearFaults();
  // Commits attempted so far (each Put is one).
  int commits() const;
  // Every object's key and bytes, as stored (for comparing whole lakes).
  std::map<std::string, std::string> Objects() const;

  std::string uri() const override { return "memory://" + scratch_; }
  Result<std::unique_ptr<ObjectWriter>> NewWriter(const std::string& key) override;
  Result<std::string> Get(const std::string& key) override;
  Status Read(const std::string& key, const std::function<Status(std::string_view chunk)>& sink) override;
  Result<ObjectInfo> Stat(const std::string& key) override;
  Result<bool> Exists(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  Status Move(const std::string& from, const std::string& to) override;
  Result<std::string> ReadablePath(const std::string& key) override;

 private:
  friend class MemoryWriter;
  // Stores `bytes` under `key` as the next commit, applying a pending fault.
  Status CommitObject(const std::string& key, std::string bytes);
  // The bytes a read of `key` returns (faults applied); kNotFound if absent. Caller holds mu_.
  Result<std::string> ReadLocked(const std::string& key) const;

  struct PendingFault {
    int countdown;
    Fault fault;
    std::string key_part;
  };
  const std::string scratch_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> objects_;
  std::vector<PendingFault> faults_;
  std::vector<std::pair<std::string, int64_t>> truncations_;
  int commits_ = 0;
  int staged_ = 0;
};

}  // namespace strata::lake
