#include "core/redact.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <mutex>
#include <vector>

namespace strata {
namespace {

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}

std::vector<std::string>& Secrets() {
  static std::vector<std::string> secrets;
  return secrets;
}

// Replaces the userinfo of every "scheme://userinfo@host" in `text`.
std::string RedactUserinfo(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  for (;;) {
    size_t sep = text.find("://", i);
    if (sep == std::string_view::npos) break;
    size_t start = sep + 3;
    // The authority ends at the first '/', '?', '#' or whitespace; its last '@' ends the userinfo.
    size_t end = start;
    while (end < text.size() && text[end] != '/' && text[end] != '?' && text[end] != '#' &&
           !std::isspace(static_cast<unsigned char>(text[end])) && text[end] != '"' && text[end] != '\'') {
      ++end;
    }
    size_t at = text.substr(start, end - start).rfind('@');
    out.append(text.substr(i, start - i));
    if (at != std::string_view::npos) {
      out += "***";
      out.append(text.substr(start + at, end - start - at));
    } else {
      out.append(text.substr(start, end - start));
    }
    i = end;
  }
  out.append(text.substr(i));
  return out;
}

}  // namespace

void RegisterSecret(std::string_view value) {
  if (value.size() < 4) return;
  std::lock_guard<std::mutex> lock(Mu());
  auto& secrets = Secrets();
  if (std::find(secrets.begin(), secrets.end(), value) != secrets.end()) return;
  secrets.emplace_back(value);
  // Longest first, so that a secret containing another is replaced whole.
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

void RegisterUrlPassword(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return;
  size_t end = url.find_first_of("/?#", sep + 3);
  std::string_view authority = url.substr(sep + 3, end == std::string_view::npos ? end : end - sep - 3);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return;
  size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return;
  RegisterSecret(authority.substr(colon + 1, at - colon - 1));
  // What HTTP Basic authentication sends, should a server echo its Authorization header.
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string_view plain = authority.substr(0, at);
  std::string b64;
  for (size_t i = 0; i < plain.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(plain[i])) << 16;
    if (i + 1 < plain.size()) n |= static_cast<uint32_t>(static_cast<unsigned char>(plain[i + 1])) << 8;
    if (i + 2 < plain.size()) n |= static_cast<unsigned char>(plain[i + 2]);
    b64.push_back(kAlphabet[(n >> 18) & 63]);
    b64.push_back(kAlphabet[(n >> 12) & 63]);
    b64.push_back(i + 1 < plain.size() ? kAlphabet[(n >> 6) & 63] : '=');
    b64.push_back(i + 2 < plain.size() ? kAlphabet[n & 63] : '=');
  }
  RegisterSecret(b64);
}

bool LooksSecret(std::string_view env_name) {
  std::string upper;
  for (char c : env_name) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  for (const char* word : {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "APIKEY", "PRIVATE"}) {
    if (upper.find(word) != std::string::npos) return true;
  }
  // Short words only as whole segments: API_PW and DB_PASS, but not PWD (a folder) or MONKEY.
  size_t start = 0;
  while (start <= upper.size()) {
    size_t end = upper.find('_', start);
    if (end == std::string::npos) end = upper.size();
    std::string_view seg = std::string_view(upper).substr(start, end - start);
    for (const char* word : {"PW", "PASS", "KEY", "AUTH", "COOKIE"}) {
      if (seg == word) return true;
    }
    start = end + 1;
  }
  return false;
}

std::string Redact(std::string_view text) {
  std::string out = RedactUserinfo(text);
  std::lock_guard<std::mutex> lock(Mu());
  for (const auto& s : Secrets()) {
    for (size_t pos = 0; (pos = out.find(s, pos)) != std::string::npos; pos += 3) out.replace(pos, s.size(), "***");
  }
  return out;
}

std::string RedactUrl(std::string_view url) {
  std::string u = RedactUserinfo(url.substr(0, url.find_first_of("?#")));
  return u;
}

std::string UrlOrigin(std::string_view url) {
  std::string u = RedactUrl(url);
  size_t sep = u.find("://");
  size_t start = sep == std::string::npos ? 0 : sep + 3;
  size_t slash = u.find('/', start);
  if (slash == std::string::npos || slash + 1 == u.size()) return u;
  return u.substr(0, slash) + "/…";
}

}  // namespace strata
