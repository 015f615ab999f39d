// Users and sessions: passwords are stored as argon2id hashes only, wrong ones and unknown
// users are refused alike, repeated failures are rate limited, sessions expire.
#include "serve/auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/file.h"
#include "testing.h"

namespace strata::serve {
namespace {

TEST(Users, PasswordsAreKeptOnlyAsArgon2idHashesInAPrivateFile) {
  testing::TempDir dir;
  Users users;
  ASSERT_TRUE(users.Set("ana@shop", Role::kEditor, "correct horse battery").ok());
  ASSERT_TRUE(users.Set("bo", Role::kViewer, "another long secret").ok());
  EXPECT_FALSE(users.Set("bo", Role::kViewer, "short").ok()) << "passwords have 12 characters or more";
  EXPECT_FALSE(users.Set("bad name", Role::kViewer, "long enough password").ok());
  EXPECT_FALSE(users.Set("", Role::kViewer, "long enough password").ok());
  const std::string path = dir.Sub("state/users.json");
  ASSERT_TRUE(users.Save(path).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string text = *ReadFile(path);
  EXPECT_EQ(text.find("correct horse"), std::string::npos);
  EXPECT_NE(text.find("$argon2id$"), std::string::npos);

  auto back = Users::Load(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->list().size(), 2u);
  auto ana = back->Check("ana@shop", "correct horse battery");
  ASSERT_TRUE(ana.has_value());
  EXPECT_EQ(ana->role, Role::kEditor);
  EXPECT_FALSE(back->Check("ana@shop", "correct horse batterY").has_value());
  EXPECT_FALSE(back->Check("nobody", "correct horse battery").has_value());
  EXPECT_FALSE(back->Check("bo", "").has_value());
  // A new password replaces the old one.
  ASSERT_TRUE(back->Set("bo", Role::kAdmin, "a brand new secret").ok());
  EXPECT_FALSE(back->Check("bo", "another long secret").has_value());
  EXPECT_EQ(back->Check("bo", "a brand new secret")->role, Role::kAdmin);
  EXPECT_TRUE(back->Remove("bo"));
  EXPECT_FALSE(back->Remove("bo"));

  EXPECT_TRUE(Users::Load(dir.Sub("none.json")).ok()) << "no file: no users";
  testing::WriteText(dir.Sub("bad.json"), "{\"users\": [{\"name\": \"x\"}]}");
  EXPECT_EQ(Users::Load(dir.Sub("bad.json")).status().code(), Status::Code::kCorruption);
  testing::WriteText(dir.Sub("bad2.json"), "not json");
  EXPECT_EQ(Users::Load(dir.Sub("bad2.json")).status().code(), Status::Code::kCorruption);
  EXPECT_FALSE(ParseRole("root").ok());
}

TEST(Sessions, LoginsAreRateLimitedAndSessionsExpire) {
  Users users;
  ASSERT_TRUE(users.Set("ana", Role::kViewer, "correct horse battery").ok());
  Sessions sessions(/*idle_seconds=*/3600);
  int64_t now = 1'000'000;
  auto token = sessions.Login(users, "ana", "correct horse battery", "10.0.0.1", now);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->size(), 64u);
  auto s = sessions.Find(*token, now + 10);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->user, "ana");
  EXPECT_EQ(s->csrf.size(), 64u);
  EXPECT_NE(s->csrf, *token);
  EXPECT_FALSE(sessions.Find("not-a-token", now).has_value());
  // Use extends the session; idleness ends it.
  EXPECT_TRUE(sessions.Find(*token, now + 3000).has_value());
  EXPECT_TRUE(sessions.Find(*token, now + 6000).has_value());
  EXPECT_FALSE(sessions.Find(*token, now + 6000 + 3601).has_value());

  // Wrong and unknown users get the same answer.
  auto wrong = sessions.Login(users, "ana", "wrong password!", "10.0.0.2", now);
  auto unknown = sessions.Login(users, "eve", "wrong password!", "10.0.0.3", now);
  EXPECT_EQ(wrong.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(wrong.status().message(), unknown.status().message());
  // Five failures from one address: the right password is refused there too, until the
  // window passes; other addresses still log in.
  for (int i = 0; i < Sessions::kMaxFailures; ++i) {
    (void)sessions.Login(users, "guess" + std::to_string(i), "guess", "10.0.0.9", now + i);
  }
  auto limited = sessions.Login(users, "ana", "correct horse battery", "10.0.0.9", now + 10);
  EXPECT_EQ(limited.status().code(), Status::Code::kUnavailable);
  EXPECT_TRUE(sessions.Login(users, "ana", "correct horse battery", "10.0.0.8", now + 10).ok());
  EXPECT_TRUE(
      sessions.Login(users, "ana", "correct horse battery", "10.0.0.9", now + Sessions::kWindowSeconds + 10).ok());
  // Five failures against one user from many addresses: that user is locked for the window.
  for (int i = 0; i < Sessions::kMaxFailures; ++i) {
    (void)sessions.Login(users, "ana", "guess", "10.1.0." + std::to_string(i), now + 100);
  }
  EXPECT_EQ(sessions.Login(users, "ana", "correct horse battery", "10.2.0.1", now + 101).status().code(),
            Status::Code::kUnavailable);
  // Logout ends a session at once.
  auto t2 = sessions.Login(users, "ana", "correct horse battery", "10.3.0.1", now + 2 * Sessions::kWindowSeconds);
  ASSERT_TRUE(t2.ok());
  sessions.Logout(*t2);
  EXPECT_FALSE(sessions.Find(*t2, now + 2 * Sessions::kWindowSeconds).has_value());
}

}  // namespace
}  // namespace strata::serve
