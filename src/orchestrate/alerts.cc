#include "orchestrate/alerts.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "core/clock.h"
#include "core/date.h"
#include "core/http_client.h"
#include "core/redact.h"
#include "core/subprocess.h"
#include "orchestrate/pipeline.h"

namespace strata::orchestrate {

using nlohmann::json;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

const std::vector<std::pair<std::string, AlertEvent>> kEvents = {{"failure", AlertEvent::kFailure},
                                                                 {"retry_exhausted", AlertEvent::kRetryExhausted},
                                                                 {"publish_blocked", AlertEvent::kPublishBlocked},
                                                                 {"success", AlertEvent::kSuccess}};

struct EnvRef {
  std::string name;
  bool has_default = false;
};

// The ${NAME} and ${NAME:-default} references of `text`, with ExpandEnv's grammar ("$$" is a
// literal "$"), checking their syntax.
Result<std::vector<EnvRef>> EnvRefs(const std::string& text) {
  std::vector<EnvRef> out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) continue;
    if (text[i + 1] == '$') {
      ++i;
      continue;
    }
    if (text[i + 1] != '{') continue;
    size_t close = text.find('}', i + 2);
    if (close == std::string::npos) return Status::InvalidArgument("unterminated ${...}");
    std::string inner = text.substr(i + 2, close - i - 2);
    size_t sep = inner.find(":-");
    EnvRef ref{inner.substr(0, sep), sep != std::string::npos};
    bool valid = !ref.name.empty() && !std::isdigit(static_cast<unsigned char>(ref.name[0]));
    for (char c : ref.name) valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!valid) return Status::InvalidArgument("'${" + inner + "}' does not name an environment variable");
    out.push_back(ref);
    i = close;
  }
  return out;
}

// Expands `text`, adding the value of every variable it used to `secrets`.
Result<std::string> Resolve(const std::string& text, std::vector<std::string>* secrets) {
  STRATA_ASSIGN_OR_RETURN(auto refs, EnvRefs(text));
  for (const auto& r : refs) {
    const char* v = std::getenv(r.name.c_str());
    if (v != nullptr && *v != '\0') secrets->push_back(v);
  }
  return ExpandEnv(text);
}

// Replaces every secret (of 4 characters or more: shorter ones would mangle the message and
// protect nothing) with "***".
std::string Scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.size() < 4) continue;
    for (size_t pos = 0; (pos = text.find(s, pos)) != std::string::npos; pos += 3) text.replace(pos, s.size(), "***");
  }
  return text;
}

bool StartsWithNoCase(const std::string& s, const std::string& prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

bool IsHttpUrl(const std::string& url) {
  for (const char* scheme : {"http://", "https://"}) {
    if (StartsWithNoCase(url, scheme) && url.size() > std::strlen(scheme)) return true;
  }
  return false;
}

// scheme://host[:port]/path: without user:password@, ?query and #fragment.
std::string RedactUrl(const std::string& url) {
  std::string u = url.substr(0, url.find_first_of("?#"));
  size_t start = u.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = u.find('/', start);
  size_t at = u.rfind('@', end == std::string::npos ? u.size() : end);
  if (at != std::string::npos && at >= start) u.erase(start, at + 1 - start);
  return u;
}

std::string PercentEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

std::string IsoTime(int64_t micros) {
  std::string t = FormatTimestamp(micros / 1000000);
  t[10] = 'T';
  return t + "Z";
}

Status PostWebhook(const AlertSpec& spec, const std::string& body, SteadyTime deadline, int* tries,
                   std::vector<std::string>* secrets) {
  const std::string target = spec.Target().substr(std::strlen("webhook "));
  auto url = Resolve(spec.webhook, secrets);
  if (!url.ok()) return Status::InvalidArgument("webhook " + target + ": " + url.status().message());
  if (!IsHttpUrl(*url)) return Status::InvalidArgument("webhook " + target + " is not an http:// or https:// URL");
  std::vector<std::string> lines = {"Content-Type: application/json"};
  for (const auto& [name, value] : spec.headers) {
    auto v = Resolve(value, secrets);
    if (!v.ok()) return Status::InvalidArgument("webhook header " + name + ": " + v.status().message());
    if (v->find_first_of("\r\n") != std::string::npos) {
      return Status::InvalidArgument("webhook header " + name + ": the value holds a line break");
    }
    lines.push_back(name + ": " + *v);
  }
  HttpRetryPolicy retry;
  retry.max_attempts = 3;
  retry.initial_delay_ms = 250;
  retry.multiplier = 3;
  retry.jitter = false;
  HttpClient client(retry, /*timeout_ms=*/int64_t{1} << 40);  // the deadline bounds it
  client.set_deadline(deadline);
  client.set_keep_body_bytes(4096);  // only the start of an answer is shown
  client.set_display_url(target);
  auto sent = client.Post(*url, body, lines);
  *tries = client.last_attempts();
  return sent.status();
}

Status RunAlertCommand(const AlertSpec& spec, const AlertMessage& m, const std::string& body,
                       const std::string& log_path, SteadyTime deadline) {
  SubprocessOptions so;
  so.argv = ShellCommand(spec.command);
  // Ours replace an outer Strata's, when nested.
  so.env = {{"STRATA_ALERT_EVENT", AlertEventName(m.event)},
            {"STRATA_ALERT_SUMMARY", m.Summary()},
            {"STRATA_ALERT_LINK", m.Link()},
            {"STRATA_ALERT_ERROR", m.error},
            {"STRATA_PIPELINE", m.pipeline},
            {"STRATA_RUN_ID", m.run_id},
            {"STRATA_LOGICAL_DATE", m.logical_date},
            {"STRATA_TASK", m.task},
            {"STRATA_TRY", std::to_string(m.try_number)},
            {"STRATA_STATE", m.state},
            {"STRATA_LOG_PATH", m.log_path}};
  so.output_path = log_path;
  so.stdin_data = body;  // a command that does not read it gets what fits in the socket's buffer
  so.deadline = deadline;
  so.grace = std::chrono::seconds(1);
  STRATA_ASSIGN_OR_RETURN(SubprocessResult r, RunSubprocess(so));
  if (r.timed_out) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%gs", spec.timeout_seconds);
    return Status::Aborted(std::string("command timed out after ") + buf + " and was stopped");
  }
  if (r.ok()) return Status::OK();
  return Status::Failed("command failed with " + r.Describe() +
                        (log_path.empty() ? "" : " (output in " + log_path + ")"));
}

Result<std::vector<AlertEvent>> ParseEvents(const ConfigNode& node) {
  std::vector<ConfigNode> items;
  if (node.IsScalar()) {
    items.push_back(node);
  } else {
    STRATA_ASSIGN_OR_RETURN(items, node.Items());
  }
  if (items.empty())
    return node.Error("`on` needs at least one event (failure, retry_exhausted, publish_blocked, success)");
  std::vector<std::string> names;
  for (const auto& [name, e] : kEvents) names.push_back(name);
  std::vector<AlertEvent> out;
  for (const auto& item : items) {
    STRATA_ASSIGN_OR_RETURN(std::string name, item.String());
    auto it = std::find_if(kEvents.begin(), kEvents.end(), [&](const auto& e) { return e.first == name; });
    if (it == kEvents.end()) {
      std::string hint = Closest(name, names);
      return item.Error("unknown alert event '" + name + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                        "; expected one of: failure, retry_exhausted, publish_blocked, success");
    }
    if (std::find(out.begin(), out.end(), it->second) == out.end()) out.push_back(it->second);
  }
  return out;
}

// A value whose ${VAR} references are resolved when sending: kept as written, syntax checked.
Result<std::string> TemplateAt(const ConfigNode& node) {
  STRATA_ASSIGN_OR_RETURN(std::string text, node.RawString());
  auto refs = EnvRefs(text);
  if (!refs.ok()) return node.Error(refs.status().message());
  return text;
}

Result<AlertSpec> ParseAlert(const ConfigNode& node) {
  AlertSpec a;
  a.where = node.Where();
  if (!node.IsMap()) return node.Error("an alert is a map with `webhook` (a URL) or `command`, and `on` (events)");
  STRATA_RETURN_IF_ERROR(node.CheckKeys({"on", "webhook", "headers", "command", "timeout"}));
  if (node.Has("on")) {
    STRATA_ASSIGN_OR_RETURN(a.on, ParseEvents(node["on"]));
  }
  bool webhook = node.Has("webhook"), command = node.Has("command");
  if (webhook == command) {
    return node.Error(webhook ? "an alert has either `webhook` or `command`, not both"
                              : "an alert needs `webhook` (a URL to POST JSON to) or `command` (run by /bin/sh -c)");
  }
  if (webhook) {
    STRATA_ASSIGN_OR_RETURN(a.webhook, TemplateAt(node["webhook"]));
    // A URL that starts with ${VAR} is checked when it is resolved.
    if (a.webhook.rfind("${", 0) != 0 && !IsHttpUrl(a.webhook)) {
      return node["webhook"].Error("webhook must be an http:// or https:// URL, not '" + RedactUrl(a.webhook) + "'");
    }
    if (node.Has("headers")) {
      STRATA_ASSIGN_OR_RETURN(auto entries, node["headers"].Entries());
      for (const auto& [name, value] : entries) {
        bool token = !name.empty();
        for (char c : name)
          token = token && (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c));
        if (!token) return value.Error("'" + name + "' is not a valid HTTP header name");
        STRATA_ASSIGN_OR_RETURN(a.headers[name], TemplateAt(value));
      }
    }
  } else {
    if (node.Has("headers")) return node["headers"].Error("`headers` only applies to a `webhook` alert");
    STRATA_ASSIGN_OR_RETURN(a.command, node["command"].RawString());
    if (a.command.empty()) return node["command"].Error("the command is empty");
  }
  if (node.Has("timeout")) {
    STRATA_ASSIGN_OR_RETURN(std::string text, node["timeout"].String());
    auto d = ParseDuration(text);
    if (!d.ok()) return node["timeout"].Error(d.status().message());
    if (*d <= 0 || *d > 3600) return node["timeout"].Error("timeout must be more than 0 and at most 1h");
    a.timeout_seconds = *d;
  }
  return a;
}

}  // namespace

const char* AlertEventName(AlertEvent event) {
  for (const auto& [name, e] : kEvents) {
    if (e == event) return name.c_str();
  }
  return "?";
}

bool AlertSpec::Listens(AlertEvent event) const { return std::find(on.begin(), on.end(), event) != on.end(); }

std::string AlertSpec::Target() const {
  if (webhook.empty()) return "command";
  // Only the origin: a webhook's path is often its secret (https://hooks.slack.com/services/...).
  std::string url = RedactUrl(webhook);
  size_t sep = url.find("://");
  size_t slash = url.find('/', sep == std::string::npos ? 0 : sep + 3);
  if (slash != std::string::npos && slash + 1 < url.size()) url = url.substr(0, slash) + "/…";
  return "webhook " + url;
}

std::vector<std::string> AlertSpec::MissingEnv() const {
  std::vector<std::string> texts = {webhook};
  for (const auto& [k, v] : headers) texts.push_back(v);
  std::vector<std::string> out;
  for (const auto& t : texts) {
    auto refs = EnvRefs(t);
    if (!refs.ok()) continue;  // rejected when parsed
    for (const auto& r : *refs) {
      const char* v = std::getenv(r.name.c_str());
      if (!r.has_default && (v == nullptr || *v == '\0') && std::find(out.begin(), out.end(), r.name) == out.end()) {
        out.push_back(r.name);
      }
    }
  }
  return out;
}

Result<std::vector<AlertSpec>> ParseAlerts(const ConfigNode& node) {
  std::vector<AlertSpec> out;
  if (node.IsNull()) return out;
  if (!node.IsList()) return node.Error("`alerts` is a list of alerts, each with `webhook` or `command`");
  STRATA_ASSIGN_OR_RETURN(auto items, node.Items());
  for (const auto& item : items) {
    STRATA_ASSIGN_OR_RETURN(AlertSpec a, ParseAlert(item));
    out.push_back(std::move(a));
  }
  return out;
}

std::string AlertMessage::Link() const {
  const char* base = std::getenv("STRATA_UI_URL");
  std::string link = base != nullptr ? base : "";
  while (!link.empty() && link.back() == '/') link.pop_back();
  link += "/runs/" + PercentEncode(run_id);
  if (!task.empty()) link += "#task=" + PercentEncode(task);
  return link;
}

std::string AlertMessage::Summary() const {
  std::string s = std::string(AlertEventName(event)) + ": " + run_id + ": ";
  if (task.empty()) {
    s += state == "success" ? "run succeeded" : "run " + state;
  } else if (state == "failed") {
    s += "task " + task + " failed after " + Tries(try_number);
  } else {
    s += "task " + task + " " + state;
  }
  if (!error.empty()) s += ": " + error;
  return s;
}

json AlertMessage::ToJson() const {
  auto or_null = [](const std::string& s) { return s.empty() ? json() : json(s); };
  return {{"event", AlertEventName(event)},
          {"pipeline", pipeline},
          {"run_id", run_id},
          {"logical_date", logical_date},
          {"task", or_null(task)},
          {"state", state},
          {"try", task.empty() ? json() : json(try_number)},
          {"error", or_null(error)},
          {"log_path", or_null(log_path)},
          {"link", Link()},
          {"summary", Summary()},
          {"at", IsoTime(at_micros)}};
}

AlertResult DeliverAlert(const AlertSpec& spec, const AlertMessage& message, const std::string& log_path) {
  AlertResult r;
  r.message = message;
  r.target = spec.Target();
  // What the alert says comes from task errors and logs: no secret leaves in it.
  AlertMessage said = message;
  said.error = strata::Redact(said.error);
  said.log_path = strata::Redact(said.log_path);
  const std::string body = said.ToJson().dump();
  SteadyTime deadline =
      std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                             std::chrono::duration<double>(spec.timeout_seconds));
  std::vector<std::string> secrets;
  Status s;
  if (!spec.webhook.empty()) {
    s = PostWebhook(spec, body, deadline, &r.tries, &secrets);
  } else {
    r.tries = 1;
    if (!log_path.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(log_path).parent_path(), ec);
    }
    s = RunAlertCommand(spec, said, body, log_path, deadline);
  }
  r.ok = s.ok();
  r.unreachable = s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kAborted;
  r.error = strata::Redact(Scrub(s.message(), secrets));
  r.at_micros = Clock::Real()->NowMicros();
  return r;
}

AlertDispatcher::AlertDispatcher(const std::vector<AlertSpec>* alerts, std::string log_path)
    : alerts_(alerts), log_path_(std::move(log_path)) {}

AlertDispatcher::~AlertDispatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AlertDispatcher::Post(const std::vector<AlertEvent>& events, const AlertMessage& message) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const AlertSpec& spec : *alerts_) {
    for (AlertEvent e : events) {
      if (!spec.Listens(e)) continue;
      AlertMessage m = message;
      m.event = e;
      queue_.emplace_back(&spec, std::move(m));
      break;
    }
  }
  if (!queue_.empty() && !thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  cv_.notify_all();
}

std::vector<AlertResult> AlertDispatcher::TakeFinished() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AlertResult> out;
  out.swap(finished_);
  return out;
}

void AlertDispatcher::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void AlertDispatcher::Loop() {
  for (;;) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return shutdown_ || !queue_.empty(); });
    if (queue_.empty()) return;  // shut down, and nothing is left to send
    auto [spec, message] = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    AlertResult r;
    auto paused = paused_until_.find(spec);
    if (!message.task.empty() && paused != paused_until_.end() && std::chrono::steady_clock::now() < paused->second) {
      r.message = message;
      r.target = spec->Target();
      r.error = "not sent: it failed to answer an alert less than " + std::to_string(kPauseSeconds) + " s ago";
      r.at_micros = Clock::Real()->NowMicros();
    } else {
      r = DeliverAlert(*spec, message, log_path_);
      if (r.unreachable) paused_until_[spec] = std::chrono::steady_clock::now() + std::chrono::seconds(kPauseSeconds);
    }
    if (!log_path_.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(log_path_).parent_path(), ec);
      std::ofstream log(log_path_, std::ios::app);
      log << IsoTime(r.at_micros) << " " << AlertEventName(message.event) << " "
          << (message.task.empty() ? "(run)" : message.task) << " -> " << r.target << ": "
          << (r.ok ? "sent" : "FAILED: " + r.error) << " (" << Tries(r.tries) << ")\n";
    }
    lock.lock();
    finished_.push_back(std::move(r));
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace strata::orchestrate
