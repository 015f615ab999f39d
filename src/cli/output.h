// How commands talk to people and machines: plain lines, a live progress line on a
// terminal, or one JSON document with --json. Everything printed is redacted (core/redact.h):
// no URL userinfo, no registered secret.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace strata::cli {

class Output {
 public:
  explicit Output(bool json);
  bool json() const { return json_; }
  // A line for people (suppressed with --json).
  void Line(const std::string& text);
  // Replaces the current progress line on a terminal; nothing otherwise.
  void Progress(const std::string& text);
  // An error for people, on stderr, always shown.
  void Error(const std::string& text);
  // A warning for people ("warning: ..."), on stderr, always shown.
  void Warning(const std::string& text);
  // Prints the JSON document (with --json).
  void Json(const nlohmann::json& doc);

 private:
  void ClearProgress();
  bool json_;
  bool tty_;
  bool progress_shown_ = false;
};

}  // namespace strata::cli
