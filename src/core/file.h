// Small, durable filesystem helpers used by every module that writes state.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace strata {

Result<std::string> ReadFile(const std::string& path);

// Reads `path` from byte `offset` to its end in pieces of up to 1 MiB, passing each to `fn`.
Status ReadChunks(const std::string& path, int64_t offset, const std::function<void(std::string_view)>& fn);

enum class Durability {
  kDurable,     // fsync the file and its directory: survives power loss (state, manifests)
  kAtomicOnly,  // no fsync: readers still see old or new, but a crash may lose it (artifacts)
};

// Writes all of `data` to the open file `fd` (retrying short writes and EINTR); errors name
// `path`.
Status WriteAll(int fd, std::string_view data, const std::string& path);

// Writes `data` to `path` atomically (and by default durably): a temporary file in the same
// directory, fsync, rename over `path`, fsync of the directory. Readers see the old or the
// new content, never a mix. Parent directories are created.
Status WriteFileAtomic(const std::string& path, std::string_view data, Durability durability = Durability::kDurable);

// Like WriteFileAtomic(kAtomicOnly), but leaves `path` alone when it already holds exactly
// `data`. For artifacts rewritten on every run (compiled SQL): on ext4 each create and
// rename-over costs about a millisecond, which dominates re-compiling a large project.
// Returns true when the file was written.
Result<bool> WriteFileIfChanged(const std::string& path, std::string_view data);

// What changes when a file is written or replaced (inode, modification time to the
// nanosecond, size), for noticing changes with one stat; "" when it does not exist.
std::string FileStamp(const std::string& path);

// Creates `path` and its parents (like mkdir -p).
Status MakeDirs(const std::string& path);

// fsyncs a directory so that a rename inside it survives power loss.
Status SyncDir(const std::string& path);
// fsyncs a file another library wrote (a DuckDB file before it is renamed into place).
Status SyncFile(const std::string& path);

// An exclusive advisory lock (flock) on a lock file, released when the object dies
// (or when the process dies, which is what makes a SIGKILL safe).
class FileLock {
 public:
  // Waits for the lock unless `wait` is false, in which case a held lock is kAborted.
  static Result<FileLock> Acquire(const std::string& path, bool wait = true);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Joins path segments with '/'.
std::string JoinPath(std::string_view a, std::string_view b);

// Fault injection for crash tests: if the environment variable STRATA_CRASH_AT equals
// `point` (optionally "point:N" to fire on the N-th hit, default 1), the process kills
// itself with SIGKILL right here. A no-op otherwise.
void CrashPoint(const char* point);

}  // namespace strata
