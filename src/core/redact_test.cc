#include "core/redact.h"

#include <gtest/gtest.h>

namespace strata {
namespace {

TEST(Redact, UrlUserinfoIsRemovedWhereverAUrlAppears) {
  EXPECT_EQ(Redact("GET http://user:hunter2@api.example.com/v1?x=1 failed"),
            "GET http://***@api.example.com/v1?x=1 failed");
  EXPECT_EQ(Redact("postgres://a@b:5432/db and https://x:y@h"), "postgres://***@b:5432/db and https://***@h");
  EXPECT_EQ(Redact("no url here, just an e-mail a@b.c"), "no url here, just an e-mail a@b.c");
  EXPECT_EQ(Redact("http://host/path@not-userinfo"), "http://host/path@not-userinfo");
  EXPECT_EQ(RedactUrl("https://u:p@h:8443/v1/items?token=t#f"), "https://***@h:8443/v1/items");
  EXPECT_EQ(UrlOrigin("https://hooks.example.com/services/T0/B0/XYZ"), "https://hooks.example.com/…");
  EXPECT_EQ(UrlOrigin("https://hooks.example.com"), "https://hooks.example.com");
}

TEST(Redact, RegisteredSecretsAreReplacedEverywhere) {
  RegisterSecret("abc");  // too short to be worth replacing
  RegisterSecret("tok-123456");
  RegisterSecret("tok-123456-longer");
  EXPECT_EQ(Redact("Bearer tok-123456-longer, then tok-123456; abc"), "Bearer ***, then ***; abc");
  RegisterUrlPassword("http://reader:pw-98765@host/");
  EXPECT_EQ(Redact("echo: pw-98765 / cmVhZGVyOnB3LTk4NzY1"), "echo: *** / ***");  // base64("reader:pw-98765")
}

TEST(Redact, SecretLookingNames) {
  for (const char* name : {"API_PW", "DB_PASSWORD", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "STRIPE_KEY", "BI_PASS",
                           "X_AUTH", "MYAPIKEY"}) {
    EXPECT_TRUE(LooksSecret(name)) << name;
  }
  for (const char* name : {"PWD", "HOME", "SHOP_DB", "MONKEY", "KEYBOARD_LAYOUT", "SHOP_API_URL"}) {
    EXPECT_FALSE(LooksSecret(name)) << name;
  }
}

}  // namespace
}  // namespace strata
