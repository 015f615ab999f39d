// ConfigNode: typed, located access to a YAML document.
//
// Every error names the file, line and column and the key path, e.g.
//   strata.yml:12:5: sources.shopdb.tables.orders.key: expected a string, got a list
// Scalars may reference environment variables as ${NAME} or ${NAME:-default}.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/status.h"

namespace strata {

class ConfigNode {
 public:
  // An absent node (IsNull), for members that a file may leave out.
  ConfigNode() : node_(YAML::NodeType::Undefined), file_(std::make_shared<const std::string>("")) {}
  // Parses YAML text; `file` is used in messages. Syntax errors carry line and column.
  static Result<ConfigNode> Parse(const std::string& text, const std::string& file);
  static Result<ConfigNode> Load(const std::string& path);

  bool IsMap() const { return node_.IsMap(); }
  bool IsList() const { return node_.IsSequence(); }
  bool IsScalar() const { return node_.IsScalar(); }
  bool IsNull() const { return !node_.IsDefined() || node_.IsNull(); }
  bool Has(const std::string& key) const { return node_.IsMap() && node_[key].IsDefined(); }

  // A child by key (a missing key yields a null node whose messages name the parent).
  ConfigNode operator[](const std::string& key) const;
  // Map entries in file order, or list items (named "[i]").
  Result<std::vector<std::pair<std::string, ConfigNode>>> Entries() const;
  Result<std::vector<ConfigNode>> Items() const;

  Result<std::string> String() const;
  Result<int64_t> Int() const;
  Result<double> Double() const;
  Result<bool> Bool() const;
  Result<std::vector<std::string>> StringList() const;

  // The value or `def` when the key is absent; a present value of the wrong type is an error.
  Result<std::string> String(const std::string& key, const std::string& def) const;
  Result<int64_t> Int(const std::string& key, int64_t def) const;
  Result<double> Double(const std::string& key, double def) const;
  Result<bool> Bool(const std::string& key, bool def) const;
  // Errors if the key is absent.
  Result<std::string> RequiredString(const std::string& key) const;

  // Fails on keys not in `allowed`, with a "did you mean" when one is close.
  Status CheckKeys(const std::vector<std::string>& allowed) const;

  // "file:line:col: path" of this node (or of its parent, for a missing key).
  std::string Where() const;
  // The underlying YAML node (for code that converts whole subtrees, e.g. to JSON).
  const YAML::Node& yaml() const { return node_; }
  Status Error(const std::string& message) const;
  const std::string& path() const { return path_; }

 private:
  ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file, std::string path, YAML::Mark mark)
      : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)), mark_(mark) {}
  const char* KindName() const;
  YAML::Node node_;
  std::shared_ptr<const std::string> file_;
  std::string path_;
  YAML::Mark mark_;  // of the node itself, or of its parent when the node is missing
};

// Expands ${NAME} and ${NAME:-default}; an unset NAME without default is an error naming it.
// "$$" is a literal "$".
Result<std::string> ExpandEnv(const std::string& text);

// Edit distance, for "did you mean" suggestions.
size_t EditDistance(const std::string& a, const std::string& b);
// The candidate closest to `name` if close enough, else "".
std::string Closest(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace strata
