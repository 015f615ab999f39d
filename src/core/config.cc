#include "core/config.h"

#include <algorithm>
#include <cstdlib>

#include "core/file.h"

namespace strata {

Result<ConfigNode> ConfigNode::Parse(const std::string& text, const std::string& file) {
  try {
    YAML::Node root = YAML::Load(text);
    return ConfigNode(root, std::make_shared<const std::string>(file), "", root.Mark());
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                                   std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
}

Result<ConfigNode> ConfigNode::Load(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("project file '" + path + "' not found");
    }
    return text.status();
  }
  return Parse(*text, path);
}

std::string ConfigNode::Where() const {
  std::string out = *file_;
  if (!mark_.is_null()) {
    out += ":" + std::to_string(mark_.line + 1) + ":" + std::to_string(mark_.column + 1);
  }
  if (!path_.empty()) out += ": " + path_;
  return out;
}

Status ConfigNode::Error(const std::string& message) const {
  return Status::InvalidArgument(Where() + ": " + message);
}

const char* ConfigNode::KindName() const {
  if (!node_.IsDefined()) return "nothing";
  switch (node_.Type()) {
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "nothing";
  }
}

ConfigNode ConfigNode::operator[](const std::string& key) const {
  std::string child_path = path_.empty() ? key : path_ + "." + key;
  if (!node_.IsMap()) return ConfigNode(YAML::Node(YAML::NodeType::Undefined), file_, child_path, mark_);
  YAML::Node child = node_[key];
  // A missing key is an Undefined node (not yaml-cpp's zombie node, which throws when asked its type).
  if (!child.IsDefined()) return ConfigNode(YAML::Node(YAML::NodeType::Undefined), file_, child_path, mark_);
  return ConfigNode(child, file_, child_path, child.Mark());
}

Result<std::vector<std::pair<std::string, ConfigNode>>> ConfigNode::Entries() const {
  std::vector<std::pair<std::string, ConfigNode>> out;
  if (IsNull()) return out;
  if (!node_.IsMap()) return Error(std::string("expected a map, got ") + KindName());
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (!it->first.IsScalar()) return Error("map keys must be strings");
    std::string key = it->first.Scalar();
    std::string child_path = path_.empty() ? key : path_ + "." + key;
    out.emplace_back(key, ConfigNode(it->second, file_, child_path, it->first.Mark()));
  }
  return out;
}

Result<std::vector<ConfigNode>> ConfigNode::Items() const {
  std::vector<ConfigNode> out;
  if (IsNull()) return out;
  if (!node_.IsSequence()) return Error(std::string("expected a list, got ") + KindName());
  for (size_t i = 0; i < node_.size(); ++i) {
    out.push_back(ConfigNode(node_[i], file_, path_ + "[" + std::to_string(i) + "]", node_[i].Mark()));
  }
  return out;
}

Result<std::string> ConfigNode::String() const {
  if (!node_.IsDefined()) return Error("is required");
  if (!node_.IsScalar()) return Error(std::string("expected a string, got ") + KindName());
  auto expanded = ExpandEnv(node_.Scalar());
  if (!expanded.ok()) return Error(expanded.status().message());
  return expanded;
}

Result<int64_t> ConfigNode::Int() const {
  STRATA_ASSIGN_OR_RETURN(std::string s, String());
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0) return Error("expected an integer, got '" + s + "'");
  return static_cast<int64_t>(v);
}

Result<double> ConfigNode::Double() const {
  STRATA_ASSIGN_OR_RETURN(std::string s, String());
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0') return Error("expected a number, got '" + s + "'");
  return v;
}

Result<bool> ConfigNode::Bool() const {
  STRATA_ASSIGN_OR_RETURN(std::string s, String());
  if (s == "true" || s == "True" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "False" || s == "no" || s == "off") return false;
  return Error("expected true or false, got '" + s + "'");
}

Result<std::vector<std::string>> ConfigNode::StringList() const {
  STRATA_ASSIGN_OR_RETURN(auto items, Items());
  std::vector<std::string> out;
  for (const auto& item : items) {
    STRATA_ASSIGN_OR_RETURN(std::string s, item.String());
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::string> ConfigNode::String(const std::string& key, const std::string& def) const {
  ConfigNode c = (*this)[key];
  if (c.IsNull()) return def;
  return c.String();
}

Result<int64_t> ConfigNode::Int(const std::string& key, int64_t def) const {
  ConfigNode c = (*this)[key];
  if (c.IsNull()) return def;
  return c.Int();
}

Result<double> ConfigNode::Double(const std::string& key, double def) const {
  ConfigNode c = (*this)[key];
  if (c.IsNull()) return def;
  return c.Double();
}

Result<bool> ConfigNode::Bool(const std::string& key, bool def) const {
  ConfigNode c = (*this)[key];
  if (c.IsNull()) return def;
  return c.Bool();
}

Result<std::string> ConfigNode::RequiredString(const std::string& key) const {
  ConfigNode c = (*this)[key];
  if (c.IsNull()) return Error("missing required key '" + key + "'");
  return c.String();
}

Status ConfigNode::CheckKeys(const std::vector<std::string>& allowed) const {
  if (!node_.IsMap()) return Error(std::string("expected a map, got ") + KindName());
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    std::string key = it->first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    ConfigNode at(it->second, file_, path_.empty() ? key : path_ + "." + key, it->first.Mark());
    std::string hint = Closest(key, allowed);
    std::string msg = "unknown key '" + key + "'";
    if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return at.Error(msg + "; expected one of: " + list);
  }
  return Status::OK();
}

Result<std::string> ExpandEnv(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {
      out.push_back('$');
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string::npos) {
      return Status::InvalidArgument("unterminated ${...} in '" + text + "'");
    }
    std::string inner = text.substr(i + 2, close - i - 2);
    std::string name = inner, def;
    bool has_def = false;
    size_t sep = inner.find(":-");
    if (sep != std::string::npos) {
      name = inner.substr(0, sep);
      def = inner.substr(sep + 2);
      has_def = true;
    }
    const char* v = std::getenv(name.c_str());
    if (v != nullptr && *v != '\0') {
      out += v;
    } else if (has_def) {
      out += def;
    } else {
      return Status::InvalidArgument("environment variable " + name + " is not set (use ${" + name +
                                     ":-default} for a default)");
    }
    i = close;
  }
  return out;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string Closest(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    size_t d = EditDistance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  if (best_d <= std::max<size_t>(2, name.size() / 3)) return best;
  return "";
}

}  // namespace strata
