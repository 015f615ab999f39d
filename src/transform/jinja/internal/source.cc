#include "transform/jinja/internal/source.h"

#include <algorithm>

namespace strata::jinja::internal {

Source::Source(std::string file, std::string text) : file_(std::move(file)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(static_cast<uint32_t>(i + 1));
  }
}

void Source::LineCol(uint32_t offset, int* line, int* col) const {
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(text_.size()));
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  size_t index = static_cast<size_t>(it - line_starts_.begin()) - 1;
  *line = static_cast<int>(index + 1);
  int c = 1;
  for (uint32_t i = line_starts_[index]; i < offset; ++i) {
    if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++c;  // count UTF-8 characters
  }
  *col = c;
}

std::string_view Source::LineText(int line) const {
  if (line < 1 || static_cast<size_t>(line) > line_starts_.size()) return {};
  size_t begin = line_starts_[line - 1];
  size_t end = static_cast<size_t>(line) < line_starts_.size() ? line_starts_[line] - 1 : text_.size();
  return std::string_view(text_).substr(begin, end - begin);
}

std::string Source::Where(uint32_t offset) const {
  int line = 0, col = 0;
  LineCol(offset, &line, &col);
  return file_ + ":" + std::to_string(line) + ":" + std::to_string(col);
}

std::string Source::Snippet(uint32_t offset) const {
  int line = 0, col = 0;
  LineCol(offset, &line, &col);
  std::string_view text = LineText(line);
  std::string number = std::to_string(line);
  std::string gutter = number.size() < 5 ? std::string(5 - number.size(), ' ') + number : number;
  std::string out = gutter + " | " + std::string(text) + "\n" + std::string(gutter.size(), ' ') + " | ";
  // Keep tabs so that the caret lines up; one space per other character.
  int c = 1;
  for (size_t i = 0; i < text.size() && c < col; ++i) {
    unsigned char ch = static_cast<unsigned char>(text[i]);
    if ((ch & 0xC0) == 0x80) continue;
    out.push_back(ch == '\t' ? '\t' : ' ');
    ++c;
  }
  out.push_back('^');
  return out;
}

std::string Error::Format() const {
  std::string out;
  if (source_) out = source_->Where(offset_) + ": ";
  out += message_;
  if (source_) out += "\n" + source_->Snippet(offset_);
  // Deep recursion makes long stacks: keep the innermost and outermost lines.
  constexpr size_t kKeep = 12;
  for (size_t i = 0; i < stack_.size(); ++i) {
    if (stack_.size() > 2 * kKeep && i == kKeep) {
      out += "\n  ... " + std::to_string(stack_.size() - 2 * kKeep) + " more lines ...";
      i = stack_.size() - kKeep - 1;
      continue;
    }
    out += "\n  " + stack_[i];
  }
  return out;
}

void Fail(std::string message) { throw Error(std::move(message)); }

}  // namespace strata::jinja::internal
