// ObjectStore: where lake files live. Local filesystem now; S3 later, behind the same contract.
//
// Objects are immutable: a key, once committed, is never overwritten (Commit of an existing
// key fails with kAlreadyExists). A writer's bytes become visible only at Commit, atomically
// and durably; an aborted or crashed writer leaves nothing under the key.
//
// The lake and the warehouse load list, stat, read, write and delete objects only through
// this interface. The one local path a caller sees is ReadablePath's, for engines (DuckDB)
// that read files themselves; a remote store returns a local copy there.
//
// Implementations: local_object_store.cc (a directory), memory_object_store.h (in memory,
// with injected faults, for tests).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace strata::lake {

struct ObjectInfo {
  std::string key;
  int64_t size = 0;
  std::string sha256;  // filled by ObjectWriter::Commit; empty from List
};

class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  // Appends bytes (hashed on the fly).
  virtual Status Append(std::string_view data) = 0;
  // A local file that receives the bytes before commit. A producer such as DuckDB's COPY may
  // write this file itself instead of calling Append (then Commit hashes it).
  virtual const std::string& staging_path() const = 0;
  // Makes the object durable and visible under its key.
  virtual Result<ObjectInfo> Commit() = 0;
  // Discards the bytes. Also what the destructor does when Commit was not called.
  virtual void Abort() = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // A description for messages, e.g. "file:///var/lake".
  virtual std::string uri() const = 0;
  virtual Result<std::unique_ptr<ObjectWriter>> NewWriter(const std::string& key) = 0;
  // Convenience: NewWriter + Append + Commit.
  Result<ObjectInfo> Put(const std::string& key, std::string_view data);
  virtual Result<std::string> Get(const std::string& key) = 0;
  // Streams the object to `sink` in chunks (at most about 1 MiB each), stopping at the first
  // error `sink` returns. kNotFound when there is no such object.
  virtual Status Read(const std::string& key, const std::function<Status(std::string_view chunk)>& sink) = 0;
  // The object's key and size (sha256 left empty); kNotFound when there is no such object.
  virtual Result<ObjectInfo> Stat(const std::string& key) = 0;
  virtual Result<bool> Exists(const std::string& key) = 0;
  // Objects whose key starts with `prefix`, sorted by key.
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  // Removes an object; OK if it does not exist. Only for garbage that was never committed
  // to a manifest (leftovers of failed attempts).
  virtual Status Delete(const std::string& key) = 0;
  // Moves a committed object to a new key (which must not exist), for an operator setting a
  // batch aside (Lake::SetAsideBatch); never part of a connector's or a load's work. OK when
  // `from` is already gone and `to` exists (a move done before).
  virtual Status Move(const std::string& from, const std::string& to) = 0;
  // A local filesystem path from which the engines (DuckDB) can read the object. It ends with
  // the key (the load recovers keys from the paths DuckDB reports).
  virtual Result<std::string> ReadablePath(const std::string& key) = 0;
};

// Every store's rule for keys: relative, non-empty, no "..". kInvalidArgument otherwise.
Status ValidateObjectKey(const std::string& key);

// Opens the store named by `location`: a local directory path (created if missing).
// ("s3://bucket/prefix" comes with the S3 backend.)
Result<std::unique_ptr<ObjectStore>> OpenObjectStore(const std::string& location);

}  // namespace strata::lake
