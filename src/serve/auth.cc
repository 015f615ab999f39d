#include "serve/auth.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/file.h"

namespace strata::serve {

namespace {

using nlohmann::json;

constexpr const char* kRoleNames[] = {"viewer", "editor", "admin"};

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '_' || c == '@' || c == '-'; });
}

Status InitSodium() {
  static const int rc = sodium_init();  // thread-safe, idempotent
  return rc < 0 ? Status::Internal("libsodium could not initialize") : Status::OK();
}

// A hash of a password nobody has, so that checking an unknown user costs the same.
const std::string& DummyHash() {
  static const std::string hash = [] {
    char out[crypto_pwhash_STRBYTES];
    const std::string pw = RandomToken();
    if (crypto_pwhash_str(out, pw.data(), pw.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
      return std::string();
    }
    return std::string(out);
  }();
  return hash;
}

}  // namespace

const char* RoleName(Role role) { return kRoleNames[static_cast<int>(role)]; }

Result<Role> ParseRole(const std::string& name) {
  for (int i = 0; i < 3; ++i) {
    if (name == kRoleNames[i]) return static_cast<Role>(i);
  }
  return Status::InvalidArgument("unknown role '" + name + "' (viewer, editor or admin)");
}

std::string RandomToken() {
  (void)InitSodium();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof(bytes));
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Result<Users> Users::Load(const std::string& path) {
  Users users;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return users;
  STRATA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("users") || !j["users"].is_array()) {
    return Status::Corruption(path + " is not a users file ({\"users\": [...]})");
  }
  for (const auto& u : j["users"]) {
    if (!u.is_object() || !u.contains("name") || !u.contains("role") || !u.contains("hash") || !u["name"].is_string() ||
        !u["role"].is_string() || !u["hash"].is_string()) {
      return Status::Corruption(path + ": a user needs a name, a role and a hash");
    }
    auto role = ParseRole(u["role"]);
    if (!role.ok()) return Status::Corruption(path + ": " + role.status().message());
    users.users_.push_back({u["name"], *role, u["hash"]});
  }
  return users;
}

Status Users::Save(const std::string& path) const {
  json list = json::array();
  for (const auto& u : users_) list.push_back({{"name", u.name}, {"role", RoleName(u.role)}, {"hash", u.hash}});
  STRATA_RETURN_IF_ERROR(WriteFileAtomic(path, json({{"users", list}}).dump(2) + "\n"));
  if (::chmod(path.c_str(), 0600) != 0) return Status::IOError("cannot make " + path + " private (chmod 600)");
  return Status::OK();
}

Status Users::Set(const std::string& name, Role role, const std::string& password) {
  STRATA_RETURN_IF_ERROR(InitSodium());
  if (!ValidName(name)) {
    return Status::InvalidArgument("a user name is 1 to 64 letters, digits, '.', '_', '@' or '-'");
  }
  if (password.size() < 12) return Status::InvalidArgument("a password has at least 12 characters");
  if (password.size() > 1024) return Status::InvalidArgument("a password has at most 1,024 bytes");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Status::IOError("not enough memory to hash the password (argon2id needs 64 MiB)");
  }
  for (auto& u : users_) {
    if (u.name == name) {
      u.role = role;
      u.hash = out;
      return Status::OK();
    }
  }
  users_.push_back({name, role, out});
  return Status::OK();
}

bool Users::Remove(const std::string& name) {
  auto it = std::remove_if(users_.begin(), users_.end(), [&](const User& u) { return u.name == name; });
  if (it == users_.end()) return false;
  users_.erase(it, users_.end());
  return true;
}

std::optional<User> Users::Check(const std::string& name, const std::string& password) const {
  if (!InitSodium().ok() || password.size() > 1024) return std::nullopt;
  const User* found = nullptr;
  for (const auto& u : users_) {
    if (u.name == name) found = &u;
  }
  const std::string& hash = found != nullptr ? found->hash : DummyHash();
  const bool ok = crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  if (found == nullptr || !ok) return std::nullopt;
  return *found;
}

bool Sessions::Limited(const std::string& key, int64_t now) {
  auto& times = failures_[key];
  std::erase_if(times, [&](int64_t t) { return t <= now - kWindowSeconds; });
  return static_cast<int>(times.size()) >= kMaxFailures;
}

void Sessions::Failed(const std::string& key, int64_t now) { failures_[key].push_back(now); }

Result<std::string> Sessions::Login(const Users& users, const std::string& name, const std::string& password,
                                    const std::string& remote, int64_t now) {
  const std::string by_addr = "addr:" + remote, by_user = "user:" + name;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (Limited(by_addr, now) || Limited(by_user, now)) {
      return Status::Unavailable("too many failed logins: try again in 15 minutes");
    }
  }
  std::optional<User> user = users.Check(name, password);  // slow by design: outside the lock
  std::lock_guard<std::mutex> l(mu_);
  if (!user) {
    Failed(by_addr, now);
    Failed(by_user, now);
    return Status::InvalidArgument("wrong user name or password");
  }
  Session s;
  s.user = user->name;
  s.role = user->role;
  s.csrf = RandomToken();
  s.expires_at = now + idle_seconds_;
  const std::string token = RandomToken();
  sessions_[token] = s;
  // Expired sessions go when a new one comes.
  std::erase_if(sessions_, [&](const auto& kv) { return kv.second.expires_at <= now; });
  return token;
}

std::optional<Session> Sessions::Find(const std::string& token, int64_t now) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = sessions_.find(token);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires_at <= now) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.expires_at = now + idle_seconds_;
  return it->second;
}

void Sessions::Logout(const std::string& token) {
  std::lock_guard<std::mutex> l(mu_);
  sessions_.erase(token);
}

}  // namespace strata::serve
