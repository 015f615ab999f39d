// Who may use `strata serve` when it listens beyond loopback.
//
// Users live in <state_dir>/users.json: a name, a role and the password hashed with argon2id
// (libsodium's crypto_pwhash_str, with its limits for interactive logins: 64 MiB, about
// 0.1 s), never the password itself. The file is written atomically with mode 0600 by
// `strata users`.
//
// Sessions are in memory: logging in gives a random token (the cookie) and a CSRF token the
// pages send back on every state-changing request. Failed logins are rate limited per client
// address and per user name: after 5 failures in 15 minutes, logins from there (or as that
// user) are refused until the window has passed, whatever the password.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace strata::serve {

// viewer: dashboards; editor: also the SQL explorer; admin: also users.
enum class Role { kViewer, kEditor, kAdmin };
const char* RoleName(Role role);
Result<Role> ParseRole(const std::string& name);

struct User {
  std::string name;
  Role role = Role::kViewer;
  std::string hash;  // argon2id, in libsodium's string form ("$argon2id$v=19$...")
};

class Users {
 public:
  // The users in `path`; none when it does not exist. A damaged file is kCorruption naming it.
  static Result<Users> Load(const std::string& path);
  Status Save(const std::string& path) const;  // atomically, mode 0600

  // Adds or replaces a user. Names are 1-64 of [A-Za-z0-9._@-]; passwords 12-1024 bytes.
  Status Set(const std::string& name, Role role, const std::string& password);
  bool Remove(const std::string& name);
  // The user when `password` is theirs. Takes as long when the user does not exist.
  std::optional<User> Check(const std::string& name, const std::string& password) const;
  const std::vector<User>& list() const { return users_; }

 private:
  std::vector<User> users_;
};

struct Session {
  std::string user;
  Role role = Role::kViewer;
  std::string csrf;  // sent back in the X-CSRF-Token header
  int64_t expires_at = 0;
};

class Sessions {
 public:
  explicit Sessions(int64_t idle_seconds = 12 * 3600) : idle_seconds_(idle_seconds) {}
  // A new session's token. kUnavailable while `remote` or `name` is rate limited (before the
  // password is looked at); kInvalidArgument for a wrong name or password (one message for
  // both).
  Result<std::string> Login(const Users& users, const std::string& name, const std::string& password,
                            const std::string& remote, int64_t now);
  // The session of `token` if it has not expired; each use extends it.
  std::optional<Session> Find(const std::string& token, int64_t now);
  void Logout(const std::string& token);

  static constexpr int kMaxFailures = 5;
  static constexpr int64_t kWindowSeconds = 15 * 60;

 private:
  bool Limited(const std::string& key, int64_t now);
  void Failed(const std::string& key, int64_t now);

  int64_t idle_seconds_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;               // by token
  std::map<std::string, std::vector<int64_t>> failures_;  // "addr:..." / "user:..." -> times
};

// A random token: 32 bytes from the OS, as 64 hex digits.
std::string RandomToken();

}  // namespace strata::serve
