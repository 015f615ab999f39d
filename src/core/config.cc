#include "core/config.h"

#include <yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <optional>
#include <unordered_map>

#include "core/file.h"
#include "core/redact.h"

namespace strata {

// The parsed tree: libyaml's events (the reference C parser; yaml-cpp was five times slower
// on a 1,000-model project's properties) built into immutable nodes owned by one Document.
namespace yaml {

enum class Kind { kNull, kScalar, kList, kMap };

struct Value {
  Kind kind = Kind::kNull;
  bool quoted = false;  // a quoted or block scalar, or an explicit !!str: never typed
  YamlMark mark;
  std::string scalar;
  std::vector<const Value*> items;                             // kList
  std::vector<std::pair<const Value*, const Value*>> entries;  // kMap: key node, value node
};

struct Document {
  std::string file;
  std::deque<Value> values;  // stable addresses
  const Value* root = nullptr;
};

}  // namespace yaml

namespace {

using yaml::Kind;
using yaml::Value;

YamlMark MarkOf(const yaml_mark_t& m) { return {static_cast<int>(m.line), static_cast<int>(m.column)}; }

bool IsPlainNull(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

// Lookup in a map: the last of duplicate keys wins (as in PyYAML, which dbt uses).
const Value* Find(const Value* map, const std::string& key) {
  if (map == nullptr || map->kind != Kind::kMap) return nullptr;
  for (auto it = map->entries.rbegin(); it != map->entries.rend(); ++it) {
    if (it->first->kind == Kind::kScalar && it->first->scalar == key) return it->second;
  }
  return nullptr;
}

// Applies `<<: *anchor` (or a list of them): merged keys never override explicit ones.
void ApplyMerges(Value* map) {
  std::vector<std::pair<const Value*, const Value*>> explicit_entries, merged;
  std::vector<const Value*> sources;
  for (const auto& e : map->entries) {
    if (e.first->kind == Kind::kScalar && !e.first->quoted && e.first->scalar == "<<") {
      if (e.second->kind == Kind::kMap) sources.push_back(e.second);
      if (e.second->kind == Kind::kList) {
        for (const Value* v : e.second->items) {
          if (v->kind == Kind::kMap) sources.push_back(v);
        }
      }
    } else {
      explicit_entries.push_back(e);
    }
  }
  if (sources.empty()) return;
  auto has = [&](const std::string& key) {
    for (const auto& e : explicit_entries) {
      if (e.first->kind == Kind::kScalar && e.first->scalar == key) return true;
    }
    for (const auto& e : merged) {
      if (e.first->scalar == key) return true;
    }
    return false;
  };
  for (const Value* src : sources) {  // earlier sources take precedence, as in YAML 1.1
    for (const auto& e : src->entries) {
      if (e.first->kind == Kind::kScalar && !has(e.first->scalar)) merged.push_back(e);
    }
  }
  map->entries = std::move(explicit_entries);
  map->entries.insert(map->entries.end(), merged.begin(), merged.end());
}

// Nesting deeper than this is refused: no configuration needs it, and libyaml takes quadratic
// time on deep flow nesting ("[[[[..." 100,000 levels deep: most of a minute).
constexpr int kMaxDepth = 200;

// The first place where flow collections ([ and {) nest deeper than kMaxDepth, found in one
// pass before libyaml sees the text. Quoted scalars and comments are skipped.
std::optional<YamlMark> TooDeep(const std::string& text) {
  int depth = 0, line = 0, column = 0;
  char quote = 0;
  bool comment = false;
  char prev = '\n';
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      column = 0;
      comment = false;
      prev = c;
      continue;
    }
    ++column;
    if (comment) continue;
    if (quote != 0) {
      if (c == quote) {
        if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          ++i;  // '' inside a single-quoted scalar
          ++column;
        } else {
          quote = 0;
        }
      } else if (c == '\\' && quote == '"') {
        ++i;
        ++column;
      }
    } else if (c == '#' && (prev == ' ' || prev == '\t' || prev == '\n')) {
      comment = true;
    } else if ((c == '"' || c == '\'') && (prev == ' ' || prev == '\t' || prev == '\n' || prev == '[' || prev == '{' ||
                                           prev == ',' || prev == ':')) {
      quote = c;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return YamlMark{line, column - 1};
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
    prev = c;
  }
  return std::nullopt;
}

class Builder {
 public:
  Builder(yaml::Document* doc, bool unique_keys) : doc_(doc), unique_keys_(unique_keys) {}

  Status Run(const std::string& text) {
    if (auto at = TooDeep(text)) return TooDeepError(*at);
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return Status::Internal("cannot initialize the YAML parser");
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    Status status = Status::OK();
    bool done = false;
    while (!done) {
      yaml_event_t ev;
      if (!yaml_parser_parse(&parser, &ev)) {
        status = SyntaxError(parser);
        break;
      }
      status = Handle(ev, &done);
      yaml_event_delete(&ev);
      if (!status.ok()) break;
    }
    yaml_parser_delete(&parser);
    return status;
  }

 private:
  Status SyntaxError(const yaml_parser_t& p) const {
    const yaml_mark_t& m = p.problem != nullptr ? p.problem_mark : p.context_mark;
    std::string msg = p.problem != nullptr ? p.problem : "syntax error";
    if (p.context != nullptr) msg = std::string(p.context) + ": " + msg;
    return Status::InvalidArgument(doc_->file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                                   ": invalid YAML: " + msg);
  }

  Status TooDeepError(const YamlMark& m) const {
    return Status::InvalidArgument(doc_->file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                                   ": invalid YAML: nested more than " + std::to_string(kMaxDepth) + " levels deep");
  }

  // A map's keys must differ (with unique_keys_): a second `lake:` silently replacing the first
  // is how a project ends up reading the wrong folder.
  Status CheckUniqueKeys(const Value* map) const {
    std::unordered_map<std::string, const Value*> seen;
    for (const auto& [key, value] : map->entries) {
      if (key->kind != Kind::kScalar || (!key->quoted && key->scalar == "<<")) continue;
      auto [it, fresh] = seen.emplace(key->scalar, key);
      if (fresh) continue;
      return Status::InvalidArgument(doc_->file + ":" + std::to_string(key->mark.line + 1) + ":" +
                                     std::to_string(key->mark.column + 1) + ": duplicate key '" + key->scalar +
                                     "' (first at line " + std::to_string(it->second->mark.line + 1) + ", column " +
                                     std::to_string(it->second->mark.column + 1) + ")");
    }
    return Status::OK();
  }

  Value* New(Kind kind, const yaml_mark_t& mark, const yaml_char_t* anchor) {
    Value& v = doc_->values.emplace_back();
    v.kind = kind;
    v.mark = MarkOf(mark);
    if (anchor != nullptr) anchors_[reinterpret_cast<const char*>(anchor)] = &v;
    return &v;
  }

  // Attaches a finished node to its parent (a list, or a map awaiting a key or a value).
  void Attach(const Value* v) {
    if (stack_.empty()) {
      if (doc_->root == nullptr) doc_->root = v;
      return;
    }
    Frame& f = stack_.back();
    if (f.node->kind == Kind::kList) {
      f.node->items.push_back(v);
    } else if (f.key == nullptr) {
      f.key = v;
    } else {
      f.node->entries.emplace_back(f.key, v);
      f.key = nullptr;
    }
  }

  Status Handle(const yaml_event_t& ev, bool* done) {
    switch (ev.type) {
      case YAML_SCALAR_EVENT: {
        const auto& sc = ev.data.scalar;
        std::string text(reinterpret_cast<const char*>(sc.value), sc.length);
        std::string tag = sc.tag != nullptr ? reinterpret_cast<const char*>(sc.tag) : "";
        bool quoted = sc.style != YAML_PLAIN_SCALAR_STYLE || tag == YAML_STR_TAG;
        bool null = !quoted && (tag == YAML_NULL_TAG || (tag.empty() && IsPlainNull(text)));
        Value* v = New(null ? Kind::kNull : Kind::kScalar, ev.start_mark, sc.anchor);
        v->quoted = quoted;
        if (!null) v->scalar = std::move(text);
        Attach(v);
        return Status::OK();
      }
      case YAML_ALIAS_EVENT: {
        std::string name = reinterpret_cast<const char*>(ev.data.alias.anchor);
        auto it = anchors_.find(name);
        if (it == anchors_.end()) {
          return Status::InvalidArgument(doc_->file + ":" + std::to_string(ev.start_mark.line + 1) + ":" +
                                         std::to_string(ev.start_mark.column + 1) + ": invalid YAML: unknown anchor '" +
                                         name + "'");
        }
        Attach(it->second);
        return Status::OK();
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (static_cast<int>(stack_.size()) >= kMaxDepth) return TooDeepError(MarkOf(ev.start_mark));
        bool list = ev.type == YAML_SEQUENCE_START_EVENT;
        stack_.push_back({New(list ? Kind::kList : Kind::kMap, ev.start_mark,
                              list ? ev.data.sequence_start.anchor : ev.data.mapping_start.anchor),
                          nullptr});
        return Status::OK();
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Value* v = stack_.back().node;
        stack_.pop_back();
        if (v->kind == Kind::kMap && unique_keys_) STRATA_RETURN_IF_ERROR(CheckUniqueKeys(v));
        if (v->kind == Kind::kMap) ApplyMerges(v);
        Attach(v);
        return Status::OK();
      }
      case YAML_DOCUMENT_END_EVENT:  // only the first document, as yaml-cpp's Load did
      case YAML_STREAM_END_EVENT:
        *done = true;
        return Status::OK();
      default:
        return Status::OK();
    }
  }

  struct Frame {
    Value* node;
    const Value* key;  // a map's key awaiting its value
  };
  yaml::Document* doc_;
  bool unique_keys_;
  std::vector<Frame> stack_;
  std::unordered_map<std::string, const Value*> anchors_;
};

nlohmann::json ScalarToJson(const Value& v) {
  const std::string& s = v.scalar;
  if (v.quoted) return s;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (!s.empty()) {
    char* end = nullptr;
    errno = 0;
    long long i = std::strtoll(s.c_str(), &end, 10);
    if (*end == '\0' && errno == 0 && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-')) {
      return static_cast<int64_t>(i);
    }
    double d = std::strtod(s.c_str(), &end);
    if (*end == '\0' && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '.')) return d;
  }
  return s;
}

nlohmann::json ToJsonOf(const Value* v) {
  if (v == nullptr) return nullptr;
  switch (v->kind) {
    case Kind::kNull:
      return nullptr;
    case Kind::kScalar:
      return ScalarToJson(*v);
    case Kind::kList: {
      nlohmann::json arr = nlohmann::json::array();
      for (const Value* item : v->items) arr.push_back(ToJsonOf(item));
      return arr;
    }
    case Kind::kMap: {
      nlohmann::json obj = nlohmann::json::object();
      for (const auto& [k, val] : v->entries) obj[k->scalar] = ToJsonOf(val);  // later duplicates win
      return obj;
    }
  }
  return nullptr;
}

std::string ChildPath(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

}  // namespace

Result<ConfigNode> ConfigNode::Parse(const std::string& text, const std::string& file, bool unique_keys) {
  auto doc = std::make_shared<yaml::Document>();
  doc->file = file;
  STRATA_RETURN_IF_ERROR(Builder(doc.get(), unique_keys).Run(text));
  if (doc->root == nullptr) {  // an empty file is a null document
    Value& v = doc->values.emplace_back();
    v.mark = {0, 0};
    doc->root = &v;
  }
  YamlMark mark = doc->root->mark;
  const Value* root = doc->root;
  return ConfigNode(std::move(doc), root, "", mark);
}

Result<ConfigNode> ConfigNode::Load(const std::string& path, bool unique_keys) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("project file '" + path + "' not found");
    }
    return text.status();
  }
  return Parse(*text, path, unique_keys);
}

bool ConfigNode::IsMap() const { return node_ != nullptr && node_->kind == Kind::kMap; }
bool ConfigNode::IsList() const { return node_ != nullptr && node_->kind == Kind::kList; }
bool ConfigNode::IsScalar() const { return node_ != nullptr && node_->kind == Kind::kScalar; }
bool ConfigNode::IsNull() const { return node_ == nullptr || node_->kind == Kind::kNull; }
bool ConfigNode::Has(const std::string& key) const { return Find(node_, key) != nullptr; }

size_t ConfigNode::size() const {
  if (IsList()) return node_->items.size();
  if (IsMap()) return node_->entries.size();
  return 0;
}

nlohmann::json ConfigNode::ToJson() const { return ToJsonOf(node_); }

std::string ConfigNode::Where() const {
  std::string out = doc_ != nullptr ? doc_->file : "";
  if (!mark_.is_null()) {
    out += ":" + std::to_string(mark_.line + 1) + ":" + std::to_string(mark_.column + 1);
  }
  if (!path_.empty()) out += ": " + path_;
  return out;
}

Status ConfigNode::Error(const std::string& message) const { return Status::InvalidArgument(Where() + ": " + message); }

const char* ConfigNode::KindName() const {
  if (node_ == nullptr) return "nothing";
  switch (node_->kind) {
    case Kind::kNull:
      return "null";
    case Kind::kScalar:
      return "a scalar";
    case Kind::kList:
      return "a list";
    case Kind::kMap:
      return "a map";
  }
  return "nothing";
}

ConfigNode ConfigNode::operator[](const std::string& key) const {
  std::string child_path = ChildPath(path_, key);
  const Value* child = Find(node_, key);
  if (child == nullptr) return Child(nullptr, std::move(child_path), mark_);
  return Child(child, std::move(child_path), child->mark);
}

Result<std::vector<std::pair<std::string, ConfigNode>>> ConfigNode::Entries() const {
  std::vector<std::pair<std::string, ConfigNode>> out;
  if (IsNull()) return out;
  if (!IsMap()) return Error(std::string("expected a map, got ") + KindName());
  out.reserve(node_->entries.size());
  for (const auto& [k, v] : node_->entries) {
    if (k->kind != Kind::kScalar) return Error("map keys must be strings");
    out.emplace_back(k->scalar, Child(v, ChildPath(path_, k->scalar), k->mark));
  }
  return out;
}

Result<std::vector<ConfigNode>> ConfigNode::Items() const {
  std::vector<ConfigNode> out;
  if (IsNull()) return out;
  if (!IsList()) return Error(std::string("expected a list, got ") + KindName());
  out.reserve(node_->items.size());
  for (size_t i = 0; i < node_->items.size(); ++i) {
    const Value* v = node_->items[i];
    out.push_back(Child(v, path_ + "[" + std::to_string(i) + "]", v->mark));
  }
  return out;
}

Result<std::string> ConfigNode::String() const {
  if (node_ == nullptr) return Error("is required");
  if (node_->kind != Kind::kScalar) return Error(std::string("expected a string, got ") + KindName());
  auto expanded = ExpandEnv(node_->scalar);
  if (!expanded.ok()) return Error(expanded.status().message());
  return expanded;
}

Result<std::string> ConfigNode::RawString() const {
  if (node_ == nullptr) return Error("is required");
  if (node_->kind != Kind::kScalar) return Error(std::string("expected a string, got ") + KindName());
  return node_->scalar;
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
  if (!IsMap()) return Error(std::string("expected a map, got ") + KindName());
  for (const auto& [k, v] : node_->entries) {
    const std::string& key = k->scalar;
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    ConfigNode at = Child(v, ChildPath(path_, key), k->mark);
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
      if (LooksSecret(name)) RegisterSecret(v);  // never to be printed, wherever it ends up
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
