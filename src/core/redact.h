// Redaction: keeping secrets out of everything people and machines read back — command
// output, task logs, the run history, alert payloads.
//
// Two kinds of secrets are removed: the userinfo of any URL ("scheme://user:password@host"
// becomes "scheme://***@host"), and every value registered with RegisterSecret (passwords and
// tokens read from the environment, HTTP header values), wherever it appears, including in a
// server's error body that echoes it back. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace strata {

// Remembers `value` as a secret for Redact(). Values shorter than 4 characters are ignored:
// replacing them would mangle messages and protect nothing.
void RegisterSecret(std::string_view value);

// Registers the password of a URL's userinfo ("scheme://user:password@host"), if it has one.
void RegisterUrlPassword(std::string_view url);

// Whether an environment variable's name says it holds a secret (PASSWORD, TOKEN, SECRET, KEY,
// ...), so that its value is registered when a config file expands it.
bool LooksSecret(std::string_view env_name);

// `text` with URL userinfo and every registered secret replaced by "***".
std::string Redact(std::string_view text);

// A URL without its userinfo, query and fragment: "https://host:8443/v1/items".
std::string RedactUrl(std::string_view url);

// Only a URL's scheme and authority, for URLs whose path itself may be a secret (webhooks):
// "https://hooks.example.com/…".
std::string UrlOrigin(std::string_view url);

}  // namespace strata
