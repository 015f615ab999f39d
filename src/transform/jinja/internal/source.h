// Source text with line/column lookup, and the engine's internal error type.
//
// Inside the engine, errors are thrown as internal::Error and caught at the Environment API,
// where Format() turns them into the message of a Status.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace strata::jinja::internal {

class Source {
 public:
  Source(std::string file, std::string text);
  const std::string& file() const { return file_; }
  const std::string& text() const { return text_; }
  // 1-based line and column (in characters) of a byte offset.
  void LineCol(uint32_t offset, int* line, int* col) const;
  std::string_view LineText(int line) const;
  // "file:line:col".
  std::string Where(uint32_t offset) const;
  // The source line and a caret under the column:
  //    12 |   select {{ x }}
  //       |             ^
  std::string Snippet(uint32_t offset) const;

 private:
  std::string file_;
  std::string text_;
  std::vector<uint32_t> line_starts_;
};

class Error : public std::exception {
 public:
  explicit Error(std::string message) : message_(std::move(message)) {}
  Error(std::string message, std::shared_ptr<const Source> source, uint32_t offset)
      : message_(std::move(message)), source_(std::move(source)), offset_(offset) {}

  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& message() const { return message_; }
  void set_message(std::string m) { message_ = std::move(m); }
  bool located() const { return source_ != nullptr; }
  void Locate(std::shared_ptr<const Source> source, uint32_t offset) {
    source_ = std::move(source);
    offset_ = offset;
  }
  // For "'x' is undefined": the missing variable, so that the evaluator can suggest a name
  // visible where the error is located.
  const std::string& undefined_name() const { return undefined_name_; }
  void set_undefined_name(std::string name) { undefined_name_ = std::move(name); }
  // Appends a line of the call stack ("in macro 'm' (file:3:4)"), innermost first.
  void AddStackLine(std::string line) { stack_.push_back(std::move(line)); }
  // "file:line:col: message\n<snippet>\n<stack>".
  std::string Format() const;

 private:
  std::string message_;
  std::shared_ptr<const Source> source_;
  uint32_t offset_ = 0;
  std::string undefined_name_;
  std::vector<std::string> stack_;
};

// Throws an unlocated Error; the evaluator locates it at the expression being evaluated.
[[noreturn]] void Fail(std::string message);

}  // namespace strata::jinja::internal
