// ConfigNode: typed, located access to a YAML document.
//
// Every error names the file, line and column and the key path, e.g.
//   strata.yml:12:5: sources.shopdb.tables.orders.key: expected a string, got a list
// Scalars may reference environment variables as ${NAME} or ${NAME:-default}.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace strata {

namespace yaml {
struct Value;
struct Document;
}  // namespace yaml

// A position in a YAML file, 0-based; line < 0 when unknown.
struct YamlMark {
  int line = -1;
  int column = -1;
  bool is_null() const { return line < 0; }
};

class ConfigNode {
 public:
  // An absent node (IsNull), for members that a file may leave out.
  ConfigNode() = default;
  // Parses YAML text (the first document; anchors, aliases and `<<` merge keys resolved);
  // `file` is used in messages. Syntax errors carry line and column.
  // With `unique_keys`, a key repeated in one map is an error naming both places (otherwise
  // the last wins, as in PyYAML, which dbt uses). Nesting deeper than 200 levels is an error.
  static Result<ConfigNode> Parse(const std::string& text, const std::string& file, bool unique_keys = false);
  static Result<ConfigNode> Load(const std::string& path, bool unique_keys = false);

  bool IsMap() const;
  bool IsList() const;
  bool IsScalar() const;
  // Absent, empty, `~` or `null`.
  bool IsNull() const;
  // The key is present in this map (also when its value is null).
  bool Has(const std::string& key) const;

  // A child by key (a missing key yields a null node whose messages name the parent).
  ConfigNode operator[](const std::string& key) const;
  // Map entries in file order, or list items (named "[i]").
  Result<std::vector<std::pair<std::string, ConfigNode>>> Entries() const;
  Result<std::vector<ConfigNode>> Items() const;
  // Number of list items or map entries (0 for anything else).
  size_t size() const;

  Result<std::string> String() const;
  Result<int64_t> Int() const;
  Result<double> Double() const;
  Result<bool> Bool() const;
  Result<std::vector<std::string>> StringList() const;
  // A scalar as written, without ${VAR} expansion (for values resolved later, e.g. secrets).
  Result<std::string> RawString() const;

  // The value or `def` when the key is absent; a present value of the wrong type is an error.
  Result<std::string> String(const std::string& key, const std::string& def) const;
  Result<int64_t> Int(const std::string& key, int64_t def) const;
  Result<double> Double(const std::string& key, double def) const;
  Result<bool> Bool(const std::string& key, bool def) const;
  // Errors if the key is absent.
  Result<std::string> RequiredString(const std::string& key) const;

  // Fails on keys not in `allowed`, with a "did you mean" when one is close.
  Status CheckKeys(const std::vector<std::string>& allowed) const;

  // The whole subtree as JSON, with YAML 1.2 core-schema typing of plain scalars (true/false,
  // null, integers, floats); quoted scalars stay strings. No ${VAR} expansion. Absent is null.
  nlohmann::json ToJson() const;

  // "file:line:col: path" of this node (or of its parent, for a missing key).
  std::string Where() const;
  Status Error(const std::string& message) const;
  const std::string& path() const { return path_; }

 private:
  ConfigNode(std::shared_ptr<const yaml::Document> doc, const yaml::Value* node, std::string path, YamlMark mark)
      : doc_(std::move(doc)), node_(node), path_(std::move(path)), mark_(mark) {}
  ConfigNode Child(const yaml::Value* node, std::string path, YamlMark mark) const {
    return ConfigNode(doc_, node, std::move(path), mark);
  }
  const char* KindName() const;
  std::shared_ptr<const yaml::Document> doc_;  // owns every node, and the file name
  const yaml::Value* node_ = nullptr;          // nullptr when absent
  std::string path_;
  YamlMark mark_;  // of the node itself, or of its parent when the node is missing
};

// Expands ${NAME} and ${NAME:-default}; an unset NAME without default is an error naming it.
// "$$" is a literal "$". Values of variables whose names look secret (LooksSecret) are
// registered for redaction.
Result<std::string> ExpandEnv(const std::string& text);

// Edit distance, for "did you mean" suggestions.
size_t EditDistance(const std::string& a, const std::string& b);
// The candidate closest to `name` if close enough, else "".
std::string Closest(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace strata
