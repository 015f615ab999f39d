#include "core/file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

namespace strata {
namespace {

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " '" + path + "': " + std::strerror(errno));
}

std::string TempSuffix() {
  static std::atomic<uint64_t> counter{0};
  return ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
}

}  // namespace

Result<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no such file '" + path + "'");
    return Errno("cannot open", path);
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("cannot read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IOError("cannot create directory '" + path + "': " + ec.message());
  return Status::OK();
}

Status SyncDir(const std::string& path) {
  int fd = ::open(path.empty() ? "." : path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open directory", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync directory", path);
  return Status::OK();
}

std::string FileStamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_size);
}

Status SyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync", path);
  return Status::OK();
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", path);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Status::OK();
}

Status WriteFileAtomic(const std::string& path, std::string_view data, Durability durability) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  std::string tmp = path + TempSuffix();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT && !dir.empty()) {  // parents are created only when missing
    STRATA_RETURN_IF_ERROR(MakeDirs(dir));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  if (fd < 0) return Errno("cannot create", tmp);
  if (Status s = WriteAll(fd, data, tmp); !s.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  if (durability == Durability::kDurable && ::fsync(fd) != 0) {
    Status s = Errno("cannot fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("cannot rename into", path);
    ::unlink(tmp.c_str());
    return s;
  }
  return durability == Durability::kDurable ? SyncDir(dir) : Status::OK();
}

Result<bool> WriteFileIfChanged(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st;
    bool same = ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) == data.size();
    if (same) {
      std::string old(data.size(), '\0');
      size_t got = 0;
      while (got < old.size()) {
        ssize_t n = ::read(fd, old.data() + got, old.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<size_t>(n);
      }
      same = got == old.size() && old == data;
    }
    ::close(fd);
    if (same) return false;
  }
  STRATA_RETURN_IF_ERROR(WriteFileAtomic(path, data, Durability::kAtomicOnly));
  return true;
}

Result<FileLock> FileLock::Acquire(const std::string& path, bool wait) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (!dir.empty()) STRATA_RETURN_IF_ERROR(MakeDirs(dir));
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot open lock file", path);
  while (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::Aborted("'" + path + "' is locked by another strata process");
    }
    errno = err;
    return Errno("cannot lock", path);
  }
  return FileLock(fd);
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

Status ReadChunks(const std::string& path, int64_t offset, const std::function<void(std::string_view)>& fn) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot read '" + path + "': " + std::strerror(errno));
  std::vector<char> buf(1 << 20);
  for (off_t at = static_cast<off_t>(offset);;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Status::IOError("cannot read '" + path + "': " + std::strerror(errno));
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    fn(std::string_view(buf.data(), static_cast<size_t>(n)));
    at += n;
  }
  ::close(fd);
  return Status::OK();
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  std::string out(a);
  if (out.back() != '/') out.push_back('/');
  out.append(b.front() == '/' ? b.substr(1) : b);
  return out;
}

void CrashPoint(const char* point) {
  static const char* spec = std::getenv("STRATA_CRASH_AT");
  if (spec == nullptr || *spec == '\0') return;
  std::string_view s(spec);
  size_t colon = s.rfind(':');
  std::string_view name = s;
  long nth = 1;
  if (colon != std::string_view::npos) {
    name = s.substr(0, colon);
    nth = std::strtol(std::string(s.substr(colon + 1)).c_str(), nullptr, 10);
  }
  if (name != point) return;
  static std::atomic<long> hits{0};
  if (hits.fetch_add(1) + 1 == nth) ::kill(::getpid(), SIGKILL);
}

}  // namespace strata
