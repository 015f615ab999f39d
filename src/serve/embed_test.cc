// Embed tokens: the HS256 signature against RFC 7515's published example, and every way a
// token must be refused (tampered, other algorithms, expired, malformed).
#include "serve/embed.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <nlohmann/json.hpp>

namespace strata::serve {
namespace {

using nlohmann::json;

const std::string kSecret(40, 'k');
constexpr int64_t kNow = 1'800'000'000;

// RFC 7515, appendix A.1: a JWS with HMAC SHA-256, its key (a JWK "k", base64url) and signature.
constexpr const char* kRfcToken =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
// The key's bytes: "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow".
const unsigned char kRfcKey[] = {3,   35,  53, 75,  43,  15, 165, 188, 131, 126, 6,   101, 119, 123, 166, 143,
                                 90,  179, 40, 230, 240, 84, 201, 40,  169, 15,  132, 178, 210, 80,  46,  191,
                                 211, 251, 90, 146, 210, 6,  71,  239, 150, 138, 180, 195, 119, 98,  61,  34,
                                 61,  46,  33, 114, 5,   46, 79,  8,   192, 205, 154, 245, 103, 208, 128, 163};
const std::string kRfcKeyBytes(reinterpret_cast<const char*>(kRfcKey), sizeof(kRfcKey));

TEST(Embed, VerifiesRfc7515ExampleA1) {
  auto payload = VerifyHs256(kRfcToken, kRfcKeyBytes);
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  EXPECT_EQ((*payload)["iss"], "joe");
  EXPECT_EQ((*payload)["exp"], 1300819380);
  EXPECT_EQ((*payload)["http://example.com/is_root"], true);
  // One changed bit anywhere fails.
  std::string token = kRfcToken;
  for (size_t i : {size_t{5}, token.find('.') + 3, token.size() - 2}) {
    std::string bad = token;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(VerifyHs256(bad, kRfcKeyBytes).ok()) << "changed at " << i;
  }
  EXPECT_FALSE(VerifyHs256(kRfcToken, kRfcKeyBytes.substr(1)).ok()) << "another key";
}

TEST(Embed, SignedTokensRoundTrip) {
  EmbedToken t;
  t.dashboard = "overview";
  t.params["segment"] = {"vip"};
  t.params["category"] = {"books", "toys"};
  t.params["none"] = {};
  t.expires = kNow + 600;
  const std::string text = SignEmbedToken(t, kSecret);
  EXPECT_EQ(std::count(text.begin(), text.end(), '.'), 2);
  EXPECT_EQ(text.find_first_of("+/="), std::string::npos) << "base64url without padding: " << text;
  auto back = VerifyEmbedToken(text, kSecret, kNow);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->dashboard, "overview");
  EXPECT_EQ(back->params, t.params);
  EXPECT_EQ(back->expires, kNow + 600);
  EXPECT_FALSE(VerifyEmbedToken(text, std::string(40, 'x'), kNow).ok()) << "another secret";
}

// base64url without padding, written here (not the code under test's).
std::string B64(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out += kAlphabet[(v >> s) & 63];
  }
  if (in.size() - i == 1) {
    const uint32_t v = uint8_t(in[i]) << 16;
    for (int s : {18, 12}) out += kAlphabet[(v >> s) & 63];
  } else if (in.size() - i == 2) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    for (int s : {18, 12, 6}) out += kAlphabet[(v >> s) & 63];
  }
  return out;
}

// A token as another JWT library would make it: any header, signed with `key` by libsodium.
std::string Token(const json& header, const json& payload, const std::string& key = kSecret) {
  const std::string signing =
      B64(header.is_null() ? json({{"alg", "HS256"}}).dump() : header.dump()) + "." + B64(payload.dump());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(signing.data()), signing.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return signing + "." + B64(std::string(reinterpret_cast<char*>(mac), sizeof(mac)));
}

TEST(Embed, RefusesWhatItMust) {
  const json ok = {{"resource", {{"dashboard", "overview"}}}, {"exp", kNow + 60}};
  auto refused = [&](const std::string& token, const std::string& why) {
    auto r = VerifyEmbedToken(token, kSecret, kNow);
    EXPECT_FALSE(r.ok()) << why;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().message();
    }
  };
  ASSERT_TRUE(VerifyEmbedToken(Token(nullptr, ok), kSecret, kNow).ok());
  ASSERT_TRUE(VerifyEmbedToken(Token({{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "x"}}, ok), kSecret, kNow).ok());
  // The algorithm is not the token's choice.
  refused(Token({{"alg", "none"}, {"typ", "JWT"}}, ok), "HS256");
  refused(Token({{"alg", "HS512"}}, ok), "HS256");
  refused(Token({{"typ", "JWT"}}, ok), "alg is missing");
  // Signed with another key, or with the signature cut off.
  refused(Token(nullptr, ok, std::string(40, 'z')), "signature does not match");
  const std::string good = Token(nullptr, ok);
  refused(good.substr(0, good.rfind('.') + 1), "signature does not match");
  refused(good.substr(0, good.rfind('.')), "three base64url parts");
  refused(good + ".x", "three base64url parts");
  refused("a.b=.c", "base64url");
  // Time.
  refused(Token(nullptr, {{"resource", {{"dashboard", "overview"}}}, {"exp", kNow}}), "expired");
  refused(Token(nullptr, {{"resource", {{"dashboard", "overview"}}}}), "no expiry");
  refused(Token(nullptr, {{"resource", {{"dashboard", "overview"}}}, {"exp", kNow + 60}, {"nbf", kNow + 30}}),
          "not valid yet");
  // What it opens.
  refused(Token(nullptr, {{"exp", kNow + 60}}), "names no dashboard");
  refused(Token(nullptr, {{"resource", {{"question", 1}}}, {"exp", kNow + 60}}), "names no dashboard");
  refused(
      Token(nullptr, {{"resource", {{"dashboard", "overview"}}}, {"exp", kNow + 60}, {"params", {{"a", {{"b", 1}}}}}}),
      "param 'a'");
  auto numbers = VerifyEmbedToken(
      Token(nullptr, {{"resource", {{"dashboard", "d"}}}, {"exp", kNow + 60}, {"params", {{"n", {1, 2.5}}}}}), kSecret,
      kNow);
  ASSERT_TRUE(numbers.ok());
  EXPECT_EQ(numbers->params["n"], (std::vector<std::string>{"1", "2.5"}));
}

TEST(Embed, SecretsAreLongEnough) {
  EXPECT_FALSE(CheckEmbedSecret("short").ok());
  EXPECT_FALSE(CheckEmbedSecret(std::string(31, 'a')).ok());
  EXPECT_TRUE(CheckEmbedSecret(std::string(32, 'a')).ok());
}

}  // namespace
}  // namespace strata::serve
