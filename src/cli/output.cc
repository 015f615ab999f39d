#include "cli/output.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "core/redact.h"

namespace strata::cli {

Output::Output(bool json) : json_(json), tty_(::isatty(STDOUT_FILENO) == 1 && !json) {}

void Output::ClearProgress() {
  if (progress_shown_) {
    std::fputs("\r\033[K", stdout);
    progress_shown_ = false;
  }
}

void Output::Line(const std::string& text) {
  if (json_) return;
  ClearProgress();
  std::fputs(Redact(text).c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void Output::Progress(const std::string& text) {
  if (!tty_) return;
  std::fputs("\r\033[K", stdout);
  std::fputs(Redact(text).c_str(), stdout);
  std::fflush(stdout);
  progress_shown_ = true;
}

void Output::Error(const std::string& text) {
  ClearProgress();
  std::fflush(stdout);
  std::fputs(("error: " + Redact(text) + "\n").c_str(), stderr);
}

void Output::Warning(const std::string& text) {
  ClearProgress();
  std::fflush(stdout);
  std::fputs(("warning: " + Redact(text) + "\n").c_str(), stderr);
}

void Output::Json(const nlohmann::json& doc) {
  if (!json_) return;
  std::cout << Redact(doc.dump(2)) << std::endl;
}

void Fail(Output& out, const Status& s, int code) {
  out.Error(s.message().empty() ? s.ToString() : s.message());
  if (out.json()) out.Json({{"ok", false}, {"error", s.message()}, {"code", Status::CodeName(s.code())}});
  throw CLI::RuntimeError(code);
}

int UsageCode(const Status& s) {
  return s.code() == Status::Code::kInvalidArgument || s.code() == Status::Code::kNotFound ? kExitUsage : kExitFailure;
}

}  // namespace strata::cli
