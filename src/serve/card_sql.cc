#include "serve/card_sql.h"

#include <cctype>

#include "core/strings.h"

namespace strata::serve {

namespace {

// "line L, column C" of `offset` in `text` (1-based).
std::string Position(std::string_view text, size_t offset) {
  const auto [line, col] = LineColumn(text, offset);
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

}  // namespace

std::string BoundQuery::Key() const {
  std::string key = sql;
  for (const auto& p : params) {
    key += '\x1f';
    key += p;
  }
  return key;
}

Result<CardSql> CardSql::Parse(std::string_view sql) {
  CardSql out;
  out.text_ = std::string(sql);
  size_t i = 0, text_from = 0;
  bool in_optional = false;
  size_t optional_at = 0;
  auto flush = [&](size_t upto) {
    if (upto > text_from) out.parts_.push_back({Part::kText, std::string(sql.substr(text_from, upto - text_from)), ""});
  };
  while (i < sql.size()) {
    if (sql.compare(i, 2, "{{") == 0) {
      size_t close = sql.find("}}", i + 2);
      if (close == std::string_view::npos) {
        return Status::InvalidArgument("'{{' at " + Position(sql, i) + " is never closed by '}}'");
      }
      flush(i);
      std::string_view expr = Trim(sql.substr(i + 2, close - i - 2));
      const bool is_ref = expr.substr(0, 4) == "ref(";
      const bool is_system = expr.substr(0, 7) == "strata(";
      if ((is_ref || is_system) && expr.back() == ')') {
        const size_t open = is_ref ? 4 : 7;
        std::string_view arg = Trim(expr.substr(open, expr.size() - open - 1));
        if (arg.size() < 2 || (arg.front() != '\'' && arg.front() != '"') || arg.back() != arg.front() ||
            !IsIdentifier(arg.substr(1, arg.size() - 2))) {
          return Status::InvalidArgument(std::string(is_ref ? "ref()" : "strata()") + " at " + Position(sql, i) +
                                         " takes one quoted name, as " + (is_ref ? "ref('orders')" : "strata('runs')"));
        }
        std::string name(arg.substr(1, arg.size() - 2));
        out.parts_.push_back({Part::kRef, name, is_system ? "system" : ""});
        (is_system ? out.system_ : out.refs_).push_back(name);
        if (!out.system_.empty() && !out.refs_.empty()) {
          return Status::InvalidArgument(
              "a query reads published models (ref) or Strata's own tables (strata), "
              "not both (at " +
              Position(sql, i) + ")");
        }
      } else {
        std::string_view name = expr, field;
        if (size_t dot = expr.find('.'); dot != std::string_view::npos) {
          name = expr.substr(0, dot);
          field = expr.substr(dot + 1);
          if (field != "start" && field != "end") {
            return Status::InvalidArgument("'{{ " + std::string(expr) + " }}' at " + Position(sql, i) +
                                           ": a filter's value is {{ name }}, or {{ name.start }} / {{ name.end }} "
                                           "for a date range");
          }
        }
        if (!IsIdentifier(name)) {
          return Status::InvalidArgument("'{{ " + std::string(expr) + " }}' at " + Position(sql, i) +
                                         " is neither a filter name nor ref('model')");
        }
        out.parts_.push_back({Part::kParam, std::string(name), std::string(field)});
        out.filters_.insert(std::string(name));
      }
      i = close + 2;
      text_from = i;
    } else if (sql.compare(i, 2, "[[") == 0) {
      if (in_optional) {
        return Status::InvalidArgument("'[[' at " + Position(sql, i) + " opens an optional clause inside the one at " +
                                       Position(sql, optional_at) + ": they do not nest");
      }
      flush(i);
      out.parts_.push_back({Part::kOptionalBegin, "", ""});
      in_optional = true;
      optional_at = i;
      i += 2;
      text_from = i;
    } else if (sql.compare(i, 2, "]]") == 0 && in_optional) {
      flush(i);
      out.parts_.push_back({Part::kOptionalEnd, "", ""});
      in_optional = false;
      i += 2;
      text_from = i;
    } else {
      ++i;
    }
  }
  if (in_optional) return Status::InvalidArgument("'[[' at " + Position(sql, optional_at) + " is never closed by ']]'");
  flush(sql.size());
  return out;
}

Result<BoundQuery> CardSql::Bind(const std::function<const FilterValue*(const std::string&)>& value_of,
                                 const std::function<std::string(const std::string&)>& relation_of) const {
  BoundQuery q;
  auto value = [&](const std::string& name) -> const FilterValue* {
    const FilterValue* v = value_of ? value_of(name) : nullptr;
    return v != nullptr && v->set() ? v : nullptr;
  };
  auto placeholder = [&](std::string v) {
    q.params.push_back(std::move(v));
    return "$" + std::to_string(q.params.size());
  };
  for (size_t i = 0; i < parts_.size(); ++i) {
    const Part& p = parts_[i];
    switch (p.kind) {
      case Part::kText:
        q.sql += p.text;
        break;
      case Part::kRef:
        q.sql += relation_of(p.text);
        break;
      case Part::kOptionalBegin: {
        bool all_set = true;
        size_t end = i + 1;
        for (; parts_[end].kind != Part::kOptionalEnd; ++end) {
          if (parts_[end].kind == Part::kParam && value(parts_[end].text) == nullptr) all_set = false;
        }
        if (!all_set) i = end;  // drop the clause
        break;
      }
      case Part::kOptionalEnd:
        break;
      case Part::kParam: {
        const FilterValue* v = value(p.text);
        if (v == nullptr) {
          return Status::InvalidArgument("filter '" + p.text + "' needs a value (or put its clause in [[ ]])");
        }
        const bool is_range = !v->start.empty();
        if (!p.field.empty()) {
          if (!is_range) {
            return Status::InvalidArgument("filter '" + p.text + "' is not a date range: it has no ." + p.field);
          }
          q.sql += "CAST(" + placeholder(p.field == "start" ? v->start : v->end) + " AS DATE)";
        } else if (is_range) {
          return Status::InvalidArgument("filter '" + p.text + "' is a date range: use {{ " + p.text +
                                         ".start }} and {{ " + p.text + ".end }}");
        } else if (v->list) {
          q.sql += "(";
          for (size_t k = 0; k < v->values.size(); ++k) q.sql += (k ? ", " : "") + placeholder(v->values[k]);
          q.sql += ")";
        } else if (v->values.size() == 1) {
          q.sql += placeholder(v->values[0]);
        } else {
          return Status::InvalidArgument("filter '" + p.text + "' takes one value, got " +
                                         std::to_string(v->values.size()));
        }
        break;
      }
    }
  }
  return q;
}

}  // namespace strata::serve
