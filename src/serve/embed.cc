#include "serve/embed.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

namespace strata::serve {

namespace {

using nlohmann::json;

std::string Base64Url(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// Strict: only the URL-safe alphabet, no padding, nothing ignored.
bool FromBase64Url(std::string_view text, std::string* out) {
  out->assign(text.size() * 3 / 4 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out->data()), out->size(), text.data(), text.size(), nullptr,
                        &len, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return false;
  }
  out->resize(len);
  return true;
}

std::string Hmac(std::string_view message, std::string_view key) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return std::string(reinterpret_cast<char*>(mac), sizeof(mac));
}

Status Bad(const std::string& why) { return Status::InvalidArgument("the embed token " + why); }

void InitSodium() {
  static const int rc = sodium_init();  // thread-safe and idempotent; HMAC works either way
  (void)rc;
}

}  // namespace

Status CheckEmbedSecret(std::string_view secret) {
  if (secret.size() < kMinEmbedSecretBytes) {
    return Status::InvalidArgument("STRATA_EMBED_SECRET must be at least " + std::to_string(kMinEmbedSecretBytes) +
                                   " bytes (it has " + std::to_string(secret.size()) +
                                   "); make one with: openssl rand -hex 32");
  }
  return Status::OK();
}

std::string SignHs256(const json& payload, std::string_view key) {
  InitSodium();
  const std::string signing =
      Base64Url(json({{"alg", "HS256"}, {"typ", "JWT"}}).dump()) + "." + Base64Url(payload.dump());
  return signing + "." + Base64Url(Hmac(signing, key));
}

Result<json> VerifyHs256(std::string_view token, std::string_view key) {
  InitSodium();
  const size_t a = token.find('.');
  const size_t b = a == std::string_view::npos ? a : token.find('.', a + 1);
  if (b == std::string_view::npos || token.find('.', b + 1) != std::string_view::npos) {
    return Bad("is not a JSON Web Token (three base64url parts separated by '.')");
  }
  std::string header_text, payload_text, signature;
  if (!FromBase64Url(token.substr(0, a), &header_text) ||
      !FromBase64Url(token.substr(a + 1, b - a - 1), &payload_text) ||
      !FromBase64Url(token.substr(b + 1), &signature)) {
    return Bad("is not valid base64url (RFC 4648 section 5, without padding)");
  }
  json header = json::parse(header_text, nullptr, false);
  if (!header.is_object()) return Bad("header is not a JSON object");
  // Only HS256: a token must not choose a weaker check ("none") or another key type.
  if (!header.contains("alg") || header["alg"] != "HS256") {
    return Bad("must be signed with HS256 (its header says alg " +
               (header.contains("alg") ? header["alg"].dump() : std::string("is missing")) + ")");
  }
  if (signature.size() != crypto_auth_hmacsha256_BYTES ||
      sodium_memcmp(signature.data(), Hmac(token.substr(0, b), key).data(), signature.size()) != 0) {
    return Bad("signature does not match: it was not made with this server's STRATA_EMBED_SECRET");
  }
  json payload = json::parse(payload_text, nullptr, false);
  if (!payload.is_object()) return Bad("payload is not a JSON object");
  return payload;
}

std::string SignEmbedToken(const EmbedToken& token, std::string_view secret) {
  json params = json::object();
  for (const auto& [k, v] : token.params) params[k] = v;
  return SignHs256({{"resource", {{"dashboard", token.dashboard}}}, {"params", params}, {"exp", token.expires}},
                   secret);
}

Result<EmbedToken> VerifyEmbedToken(std::string_view text, std::string_view secret, int64_t now) {
  STRATA_ASSIGN_OR_RETURN(json claims, VerifyHs256(text, secret));
  EmbedToken t;
  if (!claims.contains("exp") || !claims["exp"].is_number()) {
    return Bad("has no expiry: the payload needs \"exp\" (unix seconds)");
  }
  t.expires = static_cast<int64_t>(claims["exp"].get<double>());
  if (now >= t.expires) return Bad("expired " + std::to_string(now - t.expires) + " s ago");
  if (claims.contains("nbf") && claims["nbf"].is_number() && now < claims["nbf"].get<double>()) {
    return Bad("is not valid yet (nbf is in the future)");
  }
  const json resource = claims.value("resource", json());
  if (!resource.is_object() || !resource.contains("dashboard") || !resource["dashboard"].is_string()) {
    return Bad("names no dashboard: the payload needs \"resource\": {\"dashboard\": \"<id>\"}");
  }
  t.dashboard = resource["dashboard"];
  const json params = claims.value("params", json::object());
  if (!params.is_object()) return Bad("params is not an object of filter values");
  for (const auto& [name, value] : params.items()) {
    std::vector<std::string>& out = t.params[name];
    const json list = value.is_array() ? value : json::array({value});
    for (const auto& v : list) {
      if (v.is_string()) {
        out.push_back(v);
      } else if (v.is_number()) {
        out.push_back(v.dump());
      } else {
        return Bad("param '" + name + "' is not a string, a number or a list of them");
      }
    }
  }
  return t;
}

}  // namespace strata::serve
