// The local-filesystem ObjectStore: keys are paths under a root directory.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/file.h"
#include "core/hash.h"
#include "lake/object_store.h"
#include "lake/s3_object_store.h"

namespace strata::lake {
namespace {

namespace fs = std::filesystem;

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " '" + path + "': " + std::strerror(errno));
}

class LocalWriter : public ObjectWriter {
 public:
  LocalWriter(std::string key, std::string final_path, std::string staging_path, int fd)
      : key_(std::move(key)), final_path_(std::move(final_path)), staging_(std::move(staging_path)), fd_(fd) {}
  ~LocalWriter() override { Abort(); }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status::Internal("append to a closed writer for '" + key_ + "'");
    hasher_.Update(data);
    appended_ = true;
    size_ += static_cast<int64_t>(data.size());
    return WriteAll(fd_, data, staging_);
  }

  const std::string& staging_path() const override { return staging_; }

  Result<ObjectInfo> Commit() override {
    if (fd_ < 0 || committed_) return Status::Internal("commit of a closed writer for '" + key_ + "'");
    ObjectInfo info;
    info.key = key_;
    if (appended_) {
      info.size = size_;
      info.sha256 = hasher_.HexDigest();
    } else {
      // Written by another producer through staging_path(), which may have replaced the
      // file: hash and fsync what is on disk under that name now.
      ::close(fd_);
      fd_ = -1;
      STRATA_ASSIGN_OR_RETURN(info.sha256, Sha256::OfFile(staging_, &info.size));
      int rfd = ::open(staging_.c_str(), O_RDONLY | O_CLOEXEC);
      if (rfd < 0) return Errno("cannot open", staging_);
      int rc = ::fsync(rfd);
      ::close(rfd);
      if (rc != 0) return Errno("cannot fsync", staging_);
    }
    if (fd_ >= 0) {
      if (::fsync(fd_) != 0) return Errno("cannot fsync", staging_);
      ::close(fd_);
      fd_ = -1;
    }
    // RENAME_NOREPLACE: objects are immutable, a second writer of the same key loses.
    if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, final_path_.c_str(), RENAME_NOREPLACE) != 0) {
      Status s = errno == EEXIST ? Status::AlreadyExists("object '" + key_ + "' already exists and is immutable")
                                 : Errno("cannot rename into", final_path_);
      ::unlink(staging_.c_str());
      return s;
    }
    committed_ = true;
    STRATA_RETURN_IF_ERROR(SyncDir(fs::path(final_path_).parent_path().string()));
    return info;
  }

  void Abort() override {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (!committed_) ::unlink(staging_.c_str());
  }

 private:
  std::string key_, final_path_, staging_;
  int fd_;
  Sha256 hasher_;
  bool appended_ = false;
  bool committed_ = false;
  int64_t size_ = 0;
};

class LocalObjectStore : public ObjectStore {
 public:
  explicit LocalObjectStore(std::string root) : root_(std::move(root)) {}

  std::string uri() const override { return "file://" + root_; }

  Result<std::unique_ptr<ObjectWriter>> NewWriter(const std::string& key) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
    std::string path = JoinPath(root_, key);
    STRATA_RETURN_IF_ERROR(MakeDirs(fs::path(path).parent_path().string()));
    static std::atomic<uint64_t> counter{0};
    // Staging files sit beside their target so that the final rename stays in one filesystem.
    // They start with '.' and end in '.tmp': List() never reports them.
    std::string staging =
        (fs::path(path).parent_path() / ("." + fs::path(path).filename().string() + "." + std::to_string(::getpid()) +
                                         "." + std::to_string(counter++) + ".tmp"))
            .string();
    int fd = ::open(staging.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("cannot create", staging);
    return std::unique_ptr<ObjectWriter>(new LocalWriter(key, path, staging, fd));
  }

  Result<std::string> Get(const std::string& key) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
    return ReadFile(JoinPath(root_, key));
  }

  Status Read(const std::string& key, const std::function<Status(std::string_view chunk)>& sink) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
    const std::string path = JoinPath(root_, key);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return errno == ENOENT ? Status::NotFound("no object '" + key + "' in " + uri()) : Errno("cannot open", path);
    }
    std::string buf(size_t{1} << 20, '\0');
    Status st;
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        st = Errno("cannot read", path);
        break;
      }
      if (n == 0) break;
      st = sink(std::string_view(buf.data(), static_cast<size_t>(n)));
      if (!st.ok()) break;
    }
    ::close(fd);
    return st;
  }

  Result<ObjectInfo> Stat(const std::string& key) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
    const std::string path = JoinPath(root_, key);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return errno == ENOENT ? Status::NotFound("no object '" + key + "' in " + uri()) : Errno("cannot stat", path);
    }
    return ObjectInfo{key, static_cast<int64_t>(st.st_size), ""};
  }

  Result<bool> Exists(const std::string& key) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
    struct stat st;
    if (::stat(JoinPath(root_, key).c_str(), &st) == 0) return true;
    if (errno == ENOENT) return false;
    return Errno("cannot stat", JoinPath(root_, key));
  }

  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    // Walk the deepest directory that the prefix names, then filter by the full prefix.
    std::string dir_part = prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
    fs::path start = dir_part.empty() ? fs::path(root_) : fs::path(JoinPath(root_, dir_part));
    std::error_code ec;
    if (!fs::exists(start, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(start, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string name = it->path().filename().string();
      if (!name.empty() && name.front() == '.') continue;  // staging files
      std::string key = fs::relative(it->path(), root_, ec).string();
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      out.push_back({key, static_cast<int64_t>(it->file_size(ec)), ""});
    }
    if (ec) return Status::IOError("cannot list '" + start.string() + "': " + ec.message());
    std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
  }

  Status Delete(const std::string& key) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
    std::string path = JoinPath(root_, key);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("cannot delete", path);
    return Status::OK();
  }

  Status Move(const std::string& from, const std::string& to) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(from));
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(to));
    const std::string src = JoinPath(root_, from), dst = JoinPath(root_, to);
    STRATA_RETURN_IF_ERROR(MakeDirs(fs::path(dst).parent_path().string()));
    if (::renameat2(AT_FDCWD, src.c_str(), AT_FDCWD, dst.c_str(), RENAME_NOREPLACE) != 0) {
      if (errno == ENOENT && ::access(dst.c_str(), F_OK) == 0) return Status::OK();  // moved before
      if (errno == EEXIST) return Status::AlreadyExists("object '" + to + "' already exists and is immutable");
      return Errno("cannot move '" + from + "' to", dst);
    }
    STRATA_RETURN_IF_ERROR(SyncDir(fs::path(dst).parent_path().string()));
    return SyncDir(fs::path(src).parent_path().string());
  }

  Result<std::string> ReadablePath(const std::string& key) override {
    STRATA_RETURN_IF_ERROR(ValidateObjectKey(key));
    return JoinPath(root_, key);
  }

 private:
  std::string root_;
};

}  // namespace

Status ValidateObjectKey(const std::string& key) {
  if (key.empty() || key.front() == '/' || key.find("..") != std::string::npos) {
    return Status::InvalidArgument("invalid object key '" + key + "'");
  }
  return Status::OK();
}

Result<ObjectInfo> ObjectStore::Put(const std::string& key, std::string_view data) {
  STRATA_ASSIGN_OR_RETURN(auto writer, NewWriter(key));
  STRATA_RETURN_IF_ERROR(writer->Append(data));
  return writer->Commit();
}

Result<std::unique_ptr<ObjectStore>> OpenObjectStore(const std::string& location) {
  if (location.rfind("s3://", 0) == 0) {
    STRATA_ASSIGN_OR_RETURN(S3Options options, ParseS3Location(location));
    return OpenS3ObjectStore(std::move(options));
  }
  std::string root = location.rfind("file://", 0) == 0 ? location.substr(7) : location;
  if (root.empty()) return Status::InvalidArgument("empty lake location");
  STRATA_RETURN_IF_ERROR(MakeDirs(root));
  std::error_code ec;
  std::string abs = std::filesystem::absolute(root, ec).lexically_normal().string();
  if (!abs.empty() && abs.back() == '/') abs.pop_back();
  return std::unique_ptr<ObjectStore>(new LocalObjectStore(abs));
}

}  // namespace strata::lake
