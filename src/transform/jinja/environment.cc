#include "transform/jinja/environment.h"

#include <algorithm>

#include "transform/jinja/internal/builtins.h"
#include "transform/jinja/internal/evaluator.h"
#include "transform/jinja/internal/parser.h"

namespace strata::jinja {
namespace {

using internal::Error;
using internal::Module;

// Jinja reads the source with newlines normalized to \n and, by default, drops one final
// newline.
std::string Normalize(std::string source, bool keep_trailing_newline) {
  if (source.find('\r') != std::string::npos) {
    std::string out;
    out.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        out.push_back('\n');
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        out.push_back(source[i]);
      }
    }
    source = std::move(out);
  }
  if (!keep_trailing_newline && !source.empty() && source.back() == '\n') source.pop_back();
  return source;
}

template <typename T, typename F>
Result<T> Guarded(F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    return Status::InvalidArgument(e.Format());
  } catch (const internal::ReturnSignal&) {
    return Status::InvalidArgument("return() called outside of a macro");
  } catch (const std::exception& e) {
    return Status::Internal(std::string("template engine: ") + e.what());
  }
}

}  // namespace

Environment::Environment(EnvironmentOptions options) : options_(options) {
  internal::RegisterStringFilters(this);
  internal::RegisterSequenceFilters(this);
  internal::RegisterTests(this);
  internal::RegisterGlobals(this);
}

void Environment::AddGlobal(std::string name, Value value) { globals_[std::move(name)] = std::move(value); }

void Environment::AddFunction(std::string name, NativeFn fn) {
  Value v = Value::Function(name, std::move(fn));
  globals_[std::move(name)] = std::move(v);
}

void Environment::AddFilter(std::string name, FilterFn fn) { filters_[std::move(name)] = std::move(fn); }
void Environment::AddTest(std::string name, TestFn fn) { tests_[std::move(name)] = std::move(fn); }

void Environment::AddMacros(const std::vector<Definition>& defs) {
  for (const Definition& d : defs) {
    if (d.kind == Definition::Kind::kMacro || d.kind == Definition::Kind::kTest) AddGlobal(d.name, d.macro);
  }
}

Value Environment::MacroNamespace(const std::vector<Definition>& defs) {
  Value ns = Value::MakeDict();
  for (const Definition& d : defs) {
    if (d.kind == Definition::Kind::kMacro || d.kind == Definition::Kind::kTest) ns.as_dict().Set(d.name, d.macro);
  }
  return ns;
}

const Value* Environment::FindGlobal(std::string_view name) const {
  auto it = globals_.find(name);
  return it == globals_.end() ? nullptr : &it->second;
}

const FilterFn* Environment::FindFilter(std::string_view name) const {
  auto it = filters_.find(name);
  return it == filters_.end() ? nullptr : &it->second;
}

const TestFn* Environment::FindTest(std::string_view name) const {
  auto it = tests_.find(name);
  return it == tests_.end() ? nullptr : &it->second;
}

template <typename M>
static std::vector<std::string> SortedKeys(const M& map) {
  std::vector<std::string> names;
  names.reserve(map.size());
  for (const auto& [k, v] : map) names.push_back(k);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> Environment::GlobalNames() const { return SortedKeys(globals_); }
std::vector<std::string> Environment::FilterNames() const { return SortedKeys(filters_); }
std::vector<std::string> Environment::TestNames() const { return SortedKeys(tests_); }

Result<std::shared_ptr<Template>> Environment::Parse(std::string source, std::string file_name,
                                                     std::string package) const {
  return Guarded<std::shared_ptr<Template>>([&]() {
    auto module = std::make_shared<Module>();
    module->package = std::move(package);
    module->source = std::make_shared<internal::Source>(std::move(file_name),
                                                        Normalize(std::move(source), options_.keep_trailing_newline));
    internal::ParseModule(*this, module.get());
    const internal::Body* body = &module->body;
    return std::make_shared<Template>(std::move(module), body);
  });
}

Result<std::vector<Definition>> Environment::ParseDefinitions(std::string source, std::string file_name,
                                                              std::string package) const {
  STRATA_ASSIGN_OR_RETURN(std::shared_ptr<Template> tmpl,
                          Parse(std::move(source), std::move(file_name), std::move(package)));
  const std::shared_ptr<const Module>& module = tmpl->module_ptr();
  std::vector<Definition> defs;
  for (const auto& stmt : module->body.stmts) {
    Definition d;
    d.file = module->source->file();
    module->source->LineCol(stmt->offset, &d.line, &d.column);
    switch (stmt->kind) {
      case internal::StmtKind::kMacro: {
        const internal::MacroDef& def = static_cast<const internal::MacroStmt&>(*stmt).def;
        auto impl = std::make_shared<internal::MacroImpl>();
        impl->module = module;
        impl->def = &def;
        d.kind = def.is_test ? Definition::Kind::kTest : Definition::Kind::kMacro;
        d.name = def.name;
        d.macro = Value::FromCallable(std::make_shared<const Callable>(def.name, std::move(impl)));
        break;
      }
      case internal::StmtKind::kSnapshot: {
        const auto& s = static_cast<const internal::SnapshotStmt&>(*stmt);
        d.kind = Definition::Kind::kSnapshot;
        d.name = s.name;
        d.body = std::make_shared<Template>(module, &s.body);
        break;
      }
      case internal::StmtKind::kDocs: {
        const auto& s = static_cast<const internal::DocsStmt&>(*stmt);
        d.kind = Definition::Kind::kDocs;
        d.name = s.name;
        d.text = s.text;
        break;
      }
      default:
        continue;
    }
    defs.push_back(std::move(d));
  }
  return defs;
}

Result<std::string> Environment::Render(const Template& tmpl, const Context& vars) const {
  return Guarded<std::string>([&]() {
    internal::Evaluator ev(*this, vars);
    return ev.RenderTemplate(tmpl);
  });
}

Result<Value> Environment::Call(const Value& callable, const Args& args, const Context& vars) const {
  return Guarded<Value>([&]() {
    internal::Evaluator ev(*this, vars);
    return ev.CallFromHost(callable, args);
  });
}

// ---- Template and CallContext -----------------------------------------------------------------

const std::string& Template::file_name() const { return module_->source->file(); }
const std::string& Template::source() const { return module_->source->text(); }

const Environment& CallContext::env() const { return ev_->env(); }
const Context& CallContext::vars() const { return ev_->vars(); }
const std::string& CallContext::template_name() const { return ev_->module().source->file(); }
std::string CallContext::where() const { return ev_->module().source->Where(offset_); }

Value CallContext::Lookup(std::string_view name) const {
  const Value* v = ev_->Find(name, frame_->get());
  return v != nullptr ? *v : Value::Undefined("", std::string(name));
}

Result<Value> CallContext::Call(const Value& callable, const Args& args) {
  return ev_->Capture([&] { return ev_->CallValue(callable, args, offset_, *frame_, Value()); }, offset_);
}

Result<Value> CallContext::ApplyFilter(std::string_view name, const Value& input, const Args& args) {
  return ev_->Capture([&] { return ev_->ApplyFilter(name, input, args, offset_, *frame_); }, offset_);
}

Result<bool> CallContext::ApplyTest(std::string_view name, const Value& input, const Args& args) {
  return ev_->Capture([&] { return ev_->ApplyTest(name, input, args, offset_, *frame_); }, offset_);
}

}  // namespace strata::jinja
