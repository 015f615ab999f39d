// Signed embedding, like Metabase's static embeds: a page of another application shows one
// dashboard in an <iframe src="http://strata/embed/TOKEN">, with no Strata login. The
// application's server makes TOKEN, a JSON Web Token (RFC 7519) signed with HMAC-SHA256 under
// the secret it shares with `strata serve` (STRATA_EMBED_SECRET, at least 32 bytes):
//
//   header  {"alg": "HS256", "typ": "JWT"}
//   payload {"resource": {"dashboard": "overview"},
//            "params": {"segment": ["vip"], "period": "last_90_days"},
//            "exp": 1767225600}
//
// The token names the one dashboard it opens, fixes the filters in `params` (the viewer sees
// neither them nor their values' controls and cannot change them) and expires at `exp` (unix
// seconds; required). Any JWT library signs such tokens; `strata dashboards embed` makes one.
// Only HS256 is accepted (never "none"), the signature is compared in constant time, and a
// token past `exp` or before `nbf` is refused.
//
// A dashboard is embeddable only when its file says so (`embed:`), and may require some
// filters to be fixed by every token (`locked`) or keep some out of embeds (`disabled`: their
// default applies). See Dashboard::embed.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace strata::serve {

constexpr size_t kMinEmbedSecretBytes = 32;

// kInvalidArgument when the secret is too short to sign with.
Status CheckEmbedSecret(std::string_view secret);

struct EmbedToken {
  std::string dashboard;
  // Filter name -> its values, as in a URL (a date range "last_90_days" or
  // "2024-01-01..2024-01-31"); an empty list is "explicitly none".
  std::map<std::string, std::vector<std::string>> params;
  int64_t expires = 0;  // unix seconds
};

// A compact JWS (header.payload.signature, base64url without padding) signed with HS256.
std::string SignHs256(const nlohmann::json& payload, std::string_view key);
// The payload of a compact JWS whose header says HS256 and whose signature matches `key`.
// Malformed tokens, other algorithms and wrong signatures are kInvalidArgument, saying which.
Result<nlohmann::json> VerifyHs256(std::string_view token, std::string_view key);

std::string SignEmbedToken(const EmbedToken& token, std::string_view secret);
// The embed token `token` carries, checked against `secret` and the time `now` (unix seconds).
Result<EmbedToken> VerifyEmbedToken(std::string_view token, std::string_view secret, int64_t now);

}  // namespace strata::serve
