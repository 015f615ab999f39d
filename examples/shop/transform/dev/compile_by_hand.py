#!/usr/bin/env python3
"""Hand-compiles the shop dbt project to DuckDB SQL and runs it on a COPY of the warehouse.

A stand-in until Strata's own dbt engine exists: stdlib only, a Jinja/YAML subset good enough
for THIS project's files (it renders the real model, macro, test and snapshot files: ref,
source, var, env_var, config, is_incremental, this, adapter.dispatch, macros with defaults,
if/elif/else, for with loop.*, set, a few filters). It emulates dbt's materializations (view,
table, incremental merge with on_schema_change=append_new_columns, seeds with column_types,
timestamp snapshots with invalidate_hard_deletes), runs every data test (built-in, custom
generic, singular) and every unit test, and then replays the warehouse day by day (raw
restricted to the batches landed up to each day) to check snapshots and the incremental fact
against a full refresh.

Usage (from the repo root):
    python3 examples/shop/transform/dev/compile_by_hand.py \
        [--warehouse examples/shop/warehouse/shop.duckdb] [--strata build/strata] \
        [--skip-replay] [--tests-every-day] [--print-sql]
Exit status 0 when everything passed (warn-severity tests may warn).
"""

import argparse
import ast
import csv
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)
REPO = os.path.abspath(os.path.join(PROJECT, "..", "..", ".."))


# ----------------------------------------------------------------------------------------------
# YAML subset: block maps and sequences, flow [..] and {..}, quoted and plain scalars,
# '>' and '|' block scalars, comments.
# ----------------------------------------------------------------------------------------------

class YamlError(Exception):
    pass


def _strip_comment(line):
    out, q = [], None
    for i, ch in enumerate(line):
        if q:
            out.append(ch)
            if ch == q:
                q = None
        elif ch in "'\"" and (i == 0 or line[i - 1] in " :[{,-"):
            q = ch
            out.append(ch)
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        else:
            out.append(ch)
    return "".join(out).rstrip()


def _plain(s):
    s = s.strip()
    if s in ("", "~", "null", "Null", "NULL"):
        return None
    if s in ("true", "True", "TRUE"):
        return True
    if s in ("false", "False", "FALSE"):
        return False
    if re.fullmatch(r"[-+]?[0-9]+", s):
        return int(s)
    if re.fullmatch(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?", s):
        return float(s)
    return s


class _Flow:
    def __init__(self, s):
        self.s, self.i = s, 0

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1

    def value(self, stops):
        self.ws()
        c = self.s[self.i] if self.i < len(self.s) else ""
        if c == "[":
            self.i += 1
            out = []
            while True:
                self.ws()
                if self.s[self.i] == "]":
                    self.i += 1
                    return out
                out.append(self.value(",]"))
                self.ws()
                if self.s[self.i] == ",":
                    self.i += 1
        if c == "{":
            self.i += 1
            out = {}
            while True:
                self.ws()
                if self.s[self.i] == "}":
                    self.i += 1
                    return out
                k = self.value(":")
                self.ws()
                if self.s[self.i] != ":":
                    raise YamlError("expected ':' in flow map: " + self.s)
                self.i += 1
                out[k] = self.value(",}")
                self.ws()
                if self.s[self.i] == ",":
                    self.i += 1
        if c in "'\"":
            return self.quoted()
        j = self.i
        while self.i < len(self.s) and self.s[self.i] not in stops:
            self.i += 1
        return _plain(self.s[j:self.i])

    def quoted(self):
        q = self.s[self.i]
        self.i += 1
        out = []
        while True:
            if self.i >= len(self.s):
                raise YamlError("unterminated string: " + self.s)
            ch = self.s[self.i]
            if q == "'" and ch == "'":
                if self.s[self.i + 1:self.i + 2] == "'":
                    out.append("'")
                    self.i += 2
                    continue
                self.i += 1
                return "".join(out)
            if q == '"' and ch == "\\":
                nxt = self.s[self.i + 1]
                out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
                self.i += 2
                continue
            if q == '"' and ch == '"':
                self.i += 1
                return "".join(out)
            out.append(ch)
            self.i += 1


def _scalar(text):
    text = text.strip()
    if text[:1] in ("[", "{", "'", '"'):
        f = _Flow(text)
        v = f.value("")
        f.ws()
        if f.i != len(text):
            raise YamlError("trailing text after value: " + text)
        return v
    return _plain(text)


def _split_key(content):
    """'key: value' -> (key, value) or None when content is not a mapping entry."""
    if content[:1] in ("'", '"', "[", "{"):
        return None
    m = re.match(r"^([^:]+?):(\s+(.*))?$", content)
    if not m:
        return None
    return m.group(1).strip(), (m.group(3) or "")


def yaml_load(text):
    raw = text.split("\n")
    lines = []  # (indent, content, raw line index)
    for idx, l in enumerate(raw):
        c = _strip_comment(l)
        if c.strip() == "" or c.strip() == "---":
            continue
        lines.append((len(c) - len(c.lstrip(" ")), c.strip(), idx))
    pos = [0]

    def block_scalar(style, parent_indent, raw_idx):
        body, j = [], raw_idx + 1
        ind = None
        while j < len(raw):
            l = raw[j]
            if l.strip() == "":
                body.append("")
                j += 1
                continue
            n = len(l) - len(l.lstrip(" "))
            if n <= parent_indent:
                break
            ind = n if ind is None else min(ind, n)
            body.append(l)
            j += 1
        while body and body[-1] == "":
            body.pop()
        body = [b[ind:] if b else "" for b in body]
        while pos[0] < len(lines) and lines[pos[0]][2] < j:
            pos[0] += 1
        if style.startswith("|"):
            return "\n".join(body) + "\n"
        out, para = [], []
        for b in body:
            if b == "":
                out.append(" ".join(para))
                para = []
            else:
                para.append(b)
        out.append(" ".join(para))
        return "\n".join(x for x in out) + "\n"

    def value_after(key_indent, rest, raw_idx):
        if rest in (">", ">-", "|", "|-"):
            return block_scalar(rest, key_indent, raw_idx)
        if rest != "":
            return _scalar(rest)
        if pos[0] < len(lines):
            ind, content, _ = lines[pos[0]]
            if ind > key_indent or (ind == key_indent and content.startswith("- ")):
                return parse_block(ind)
        return None

    def parse_map(indent, first=None):
        out = {}
        if first is not None:
            k, rest, raw_idx = first
            out[k] = value_after(indent, rest, raw_idx)
        while pos[0] < len(lines):
            ind, content, raw_idx = lines[pos[0]]
            if ind < indent:
                break
            if ind > indent:
                raise YamlError("bad indentation at line %d" % (raw_idx + 1))
            if content.startswith("- "):
                break
            kv = _split_key(content)
            if kv is None:
                raise YamlError("expected 'key: value' at line %d" % (raw_idx + 1))
            pos[0] += 1
            out[kv[0]] = value_after(indent, kv[1], raw_idx)
        return out

    def parse_seq(indent):
        out = []
        while pos[0] < len(lines):
            ind, content, raw_idx = lines[pos[0]]
            if ind != indent or not (content.startswith("- ") or content == "-"):
                break
            pos[0] += 1
            item = content[2:].strip() if content != "-" else ""
            if item == "":
                out.append(value_after(indent, "", raw_idx))
                continue
            kv = _split_key(item)
            if kv is not None:
                out.append(parse_map(indent + 2, (kv[0], kv[1], raw_idx)))
            else:
                out.append(_scalar(item))
        return out

    def parse_block(indent):
        if lines[pos[0]][1].startswith("- ") or lines[pos[0]][1] == "-":
            return parse_seq(indent)
        return parse_map(indent)

    if not lines:
        return None
    result = parse_block(lines[0][0])
    if pos[0] != len(lines):
        raise YamlError("unparsed content at line %d" % (lines[pos[0]][2] + 1))
    return result


# ----------------------------------------------------------------------------------------------
# Jinja subset.
# ----------------------------------------------------------------------------------------------

class JinjaError(Exception):
    pass


class _Return(Exception):
    def __init__(self, value):
        self.value = value


TOKEN_RE = re.compile(r"({{-?.*?-?}}|{%-?.*?-?%}|{#-?.*?-?#})", re.S)


def _tokenize(src):
    parts = TOKEN_RE.split(src)
    toks = []
    for p in parts:
        if p.startswith("{{") and p.endswith("}}"):
            toks.append(["expr", p[2:-2], p.startswith("{{-"), p.endswith("-}}")])
        elif p.startswith("{%") and p.endswith("%}"):
            toks.append(["stmt", p[2:-2], p.startswith("{%-"), p.endswith("-%}")])
        elif p.startswith("{#") and p.endswith("#}"):
            toks.append(["comment", "", p.startswith("{#-"), p.endswith("-#}")])
        else:
            toks.append(["text", p, False, False])
    # Whitespace control.
    for i, t in enumerate(toks):
        if t[0] == "text":
            continue
        if t[2] and i > 0 and toks[i - 1][0] == "text":
            toks[i - 1][1] = toks[i - 1][1].rstrip()
        if t[3] and i + 1 < len(toks) and toks[i + 1][0] == "text":
            toks[i + 1][1] = toks[i + 1][1].lstrip()
    out = []
    for kind, body, _, _ in toks:
        if kind == "comment":
            continue
        if kind in ("expr", "stmt"):
            body = body.strip()
            if body.startswith("-"):
                body = body[1:]
            if body.endswith("-"):
                body = body[:-1]
            body = body.strip()
        out.append((kind, body))
    return out


def _parse(tokens, i=0, until=()):
    """Returns (nodes, index of the terminating stmt, its body)."""
    nodes = []
    while i < len(tokens):
        kind, body = tokens[i]
        if kind == "text":
            nodes.append(("text", body))
            i += 1
            continue
        if kind == "expr":
            nodes.append(("out", body))
            i += 1
            continue
        word = body.split(None, 1)[0]
        if word in until:
            return nodes, i, body
        rest = body[len(word):].strip()
        if word == "if":
            branches, cond = [], rest
            j = i + 1
            while True:
                sub, j, term = _parse(tokens, j, ("elif", "else", "endif"))
                branches.append((cond, sub))
                tw = term.split(None, 1)[0]
                if tw == "endif":
                    break
                cond = term[len(tw):].strip() if tw == "elif" else "True"
                j += 1
            nodes.append(("if", branches))
            i = j + 1
        elif word == "for":
            m = re.match(r"^(\w+)\s+in\s+(.+)$", rest, re.S)
            sub, j, _ = _parse(tokens, i + 1, ("endfor",))
            nodes.append(("for", m.group(1), m.group(2), sub))
            i = j + 1
        elif word == "set":
            name, expr = rest.split("=", 1)
            nodes.append(("set", name.strip(), expr.strip()))
            i += 1
        elif word in ("macro", "test", "snapshot", "docs"):
            sub, j, _ = _parse(tokens, i + 1, ("end" + word,))
            nodes.append((word, rest, sub))
            i = j + 1
        elif word == "do":
            nodes.append(("do", rest))
            i += 1
        else:
            raise JinjaError("unsupported statement: {%% %s %%}" % body)
    return nodes, i, None


def _split_top(expr, sep):
    """Splits expr on sep outside strings and brackets."""
    parts, depth, q, cur, i = [], 0, None, [], 0
    while i < len(expr):
        ch = expr[i]
        if q:
            cur.append(ch)
            if ch == q:
                q = None
        elif ch in "'\"":
            q = ch
            cur.append(ch)
        elif ch in "([{":
            depth += 1
            cur.append(ch)
        elif ch in ")]}":
            depth -= 1
            cur.append(ch)
        elif depth == 0 and expr.startswith(sep, i) and not expr.startswith(sep * 2, i):
            parts.append("".join(cur))
            cur = []
            i += len(sep)
            continue
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


FILTERS = {
    "trim": lambda v: str(v).strip(),
    "lower": lambda v: str(v).lower(),
    "upper": lambda v: str(v).upper(),
    "join": lambda v, sep="": sep.join(str(x) for x in v),
    "replace": lambda v, a, b: str(v).replace(a, b),
    "default": lambda v, d="": d if v is None else v,
    "length": lambda v: len(v),
}


class Loop:
    def __init__(self, i, n):
        self.index0, self.index, self.length = i, i + 1, n
        self.first, self.last = i == 0, i == n - 1


class Env:
    """Evaluates expressions and renders node lists against a namespace (dict)."""

    def __init__(self, globals_):
        self.globals = globals_

    def eval(self, expr, ns):
        parts = _split_top(expr, "|")
        code = parts[0].strip()
        code = re.sub(r"^return\(", "_return(", code)
        scope = dict(self.globals)
        scope.update(ns)
        try:
            val = eval(compile(code, "<jinja>", "eval"), {"__builtins__": {}}, scope)
        except _Return:
            raise
        except Exception as e:
            raise JinjaError("cannot evaluate {{ %s }}: %s" % (expr, e))
        for f in parts[1:]:
            f = f.strip()
            m = re.match(r"^(\w+)(\((.*)\))?$", f, re.S)
            if not m or m.group(1) not in FILTERS:
                raise JinjaError("unsupported filter: " + f)
            args = eval("(%s,)" % m.group(3), {"__builtins__": {}}, scope) if m.group(3) else ()
            val = FILTERS[m.group(1)](val, *args)
        return val

    def render(self, nodes, ns):
        out = []
        for n in nodes:
            k = n[0]
            if k == "text":
                out.append(n[1])
            elif k == "out":
                v = self.eval(n[1], ns)
                out.append(str(v))
            elif k == "if":
                for cond, sub in n[1]:
                    if self.eval(cond, ns):
                        out.append(self.render(sub, ns))
                        break
            elif k == "for":
                seq = list(self.eval(n[2], ns))
                for i, item in enumerate(seq):
                    inner = dict(ns)
                    inner[n[1]] = item
                    inner["loop"] = Loop(i, len(seq))
                    out.append(self.render(n[3], inner))
            elif k == "set":
                ns[n[1]] = self.eval(n[2], ns)
            elif k == "do":
                self.eval(n[1], ns)
            elif k in ("macro", "test", "docs"):
                pass  # definitions are collected separately
            elif k == "snapshot":
                out.append(self.render(n[2], ns))
            else:
                raise JinjaError("cannot render " + k)
        return "".join(out)


class Macro:
    def __init__(self, env, name, signature, body, file):
        self.env, self.name, self.body, self.file = env, name, body, file
        self.binder = eval("lambda %s: locals()" % signature, {"__builtins__": {"locals": locals}},
                           {"none": None, "true": True, "false": False, "True": True, "False": False})

    def __call__(self, *args, **kwargs):
        ns = dict(self.binder(*args, **kwargs))
        try:
            return Rendered(self.env.render(self.body, ns))
        except _Return as r:
            return r.value


class Rendered(str):
    pass


def collect_definitions(nodes, kinds):
    found = []
    for n in nodes:
        if n[0] in kinds:
            found.append(n)
    return found


# ----------------------------------------------------------------------------------------------
# The project.
# ----------------------------------------------------------------------------------------------

class Relation(str):
    """schema.name, printable in SQL."""


class Project:
    def __init__(self, root):
        self.root = root
        self.cfg = yaml_load(open(os.path.join(root, "dbt_project.yml")).read())
        self.name = self.cfg["name"]
        self.vars = dict(self.cfg.get("vars") or {})
        self.target = type("Target", (), {"schema": "main", "name": "dev", "type": "duckdb",
                                          "database": "shop", "threads": 2})()
        self.docs = {}
        self.macros = {}
        self.tests_generic = {}
        self.env = Env({})
        self.nodes = {}       # name -> node dict (models, seeds, snapshots)
        self.sources = {}     # (source, table) -> dict
        self.data_tests = []  # dicts: name, kind, target, column, kwargs, config, origin
        self.unit_tests = []
        self.singular = []
        self._load()

    # ---- Jinja globals ----
    def make_globals(self, node=None, capture=None, overrides=None):
        proj = self
        overrides = overrides or {}
        var_over = overrides.get("vars") or {}
        macro_over = overrides.get("macros") or {}
        fixtures = overrides.get("_fixtures") or {}

        def ref(name, *a):
            if capture is not None:
                capture["refs"].append(name)
            if ("ref", name) in fixtures:
                return fixtures[("ref", name)]
            n = proj.nodes.get(name)
            if n is None:
                raise JinjaError("ref to unknown node " + name)
            return Relation("%s.%s" % (n.get("schema") or "main", name))

        def source(s, t):
            if capture is not None:
                capture["sources"].append((s, t))
            if ("source", s, t) in fixtures:
                return fixtures[("source", s, t)]
            src = proj.sources[(s, t)]
            return Relation("%s.%s" % (src["schema"], src["identifier"]))

        def var(name, default=None):
            if name in var_over:
                return var_over[name]
            if name in proj.vars:
                return proj.vars[name]
            if default is not None:
                return default
            raise JinjaError("undefined var " + name)

        def env_var(name, default=None):
            return os.environ.get(name, default)

        def config(**kw):
            if capture is not None:
                capture["config"].update(kw)
            return ""

        def is_incremental():
            if "is_incremental" in macro_over:
                return macro_over["is_incremental"]
            return bool(node and node.get("_incremental_run"))

        def doc(name):
            return proj.docs.get(name, "")

        def _return(v):
            raise _Return(v)

        class Adapter:
            @staticmethod
            def dispatch(name, macro_namespace=None):
                for cand in ("duckdb__" + name, "default__" + name):
                    if cand in proj.macros:
                        return proj.macros[cand]
                raise JinjaError("no implementation for dispatch('%s')" % name)

        g = {"ref": ref, "source": source, "var": var, "env_var": env_var, "config": config,
             "is_incremental": is_incremental, "doc": doc, "_return": _return,
             "adapter": Adapter(), "target": self.target, "none": None, "true": True,
             "false": False, "True": True, "False": False, "this": None}
        if node is not None and node.get("relation"):
            g["this"] = overrides.get("_this") or Relation(node["relation"])
        for k, m in self.macros.items():
            g[k] = m
        return g

    def render(self, nodes, node=None, capture=None, overrides=None):
        env = Env(self.make_globals(node, capture, overrides))
        # Macros render with the same globals (ref etc. inside macros).
        for m in list(self.macros.values()) + list(self.tests_generic.values()):
            m.env = env
        return env.render(nodes, {})

    # ---- loading ----
    def _read_tpl(self, path):
        return _parse(_tokenize(open(path).read()))[0]

    def _load(self):
        r = self.root
        # docs blocks
        for path in glob.glob(os.path.join(r, "models", "**", "*.md"), recursive=True):
            for n in collect_definitions(self._read_tpl(path), ("docs",)):
                self.docs[n[1].strip()] = self.env.render(n[2], {}).strip()
        # macros and generic tests
        for path in sorted(glob.glob(os.path.join(r, "macros", "**", "*.sql"), recursive=True)
                           + glob.glob(os.path.join(r, "tests", "generic", "*.sql"))):
            for n in collect_definitions(self._read_tpl(path), ("macro", "test")):
                m = re.match(r"^(\w+)\s*\((.*)\)$", n[1].strip(), re.S)
                name, sig = m.group(1), m.group(2)
                macro = Macro(self.env, name if n[0] == "macro" else "test_" + name, sig, n[2], path)
                if n[0] == "macro":
                    self.macros[name] = macro
                else:
                    self.tests_generic[name] = macro
        # sources + properties
        for path in sorted(glob.glob(os.path.join(r, "**", "*.yml"), recursive=True)):
            rel = os.path.relpath(path, r)
            if rel in ("dbt_project.yml", "profiles.yml") or rel.startswith(("target", "dev")):
                continue
            self._load_properties(rel, yaml_load(open(path).read()) or {})
        # models
        for path in sorted(glob.glob(os.path.join(r, "models", "**", "*.sql"), recursive=True)):
            name = os.path.splitext(os.path.basename(path))[0]
            fqn = os.path.relpath(path, os.path.join(r, "models")).split(os.sep)[:-1]
            self._add_node(name, "model", path, fqn)
        # seeds
        for path in sorted(glob.glob(os.path.join(r, "seeds", "*.csv"))):
            name = os.path.splitext(os.path.basename(path))[0]
            self._add_node(name, "seed", path, [])
        # snapshots
        for path in sorted(glob.glob(os.path.join(r, "snapshots", "*.sql"))):
            for n in collect_definitions(self._read_tpl(path), ("snapshot",)):
                self._add_node(n[1].strip(), "snapshot", path, [], tpl=[n])
        # singular tests
        for path in sorted(glob.glob(os.path.join(r, "tests", "*.sql"))):
            self.singular.append({"name": os.path.splitext(os.path.basename(path))[0], "path": path,
                                  "tpl": self._read_tpl(path)})
        self._resolve()

    def _add_node(self, name, kind, path, fqn, tpl=None):
        if name in self.nodes and "kind" in self.nodes[name]:
            raise SystemExit("duplicate node name " + name)
        n = self.nodes.setdefault(name, {})
        n.update({"name": name, "kind": kind, "path": path, "fqn": fqn,
                  "tpl": tpl if tpl is not None else (self._read_tpl(path) if kind != "seed" else None)})
        n.setdefault("yml_config", {})
        n.setdefault("columns", {})

    def _load_properties(self, rel, doc):
        for src in doc.get("sources") or []:
            for t in src.get("tables") or []:
                key = (src["name"], t["name"])
                self.sources[key] = {"schema": src.get("schema", src["name"]),
                                     "identifier": t.get("identifier", t["name"])}
                target = ("source",) + key
                self._tests_of(t, target, rel)
        for kind in ("models", "seeds", "snapshots"):
            for m in doc.get(kind) or []:
                n = self.nodes.setdefault(m["name"], {})
                n["yml_config"] = m.get("config") or {}
                n["description"] = m.get("description")
                n["columns"] = {c["name"]: c for c in (m.get("columns") or [])}
                n["yml_file"] = rel
                self._tests_of(m, ("node", m["name"]), rel)
        for u in doc.get("unit_tests") or []:
            u["file"] = rel
            self.unit_tests.append(u)

    def _tests_of(self, obj, target, rel):
        def add(entry, column):
            if isinstance(entry, str):
                name, args = entry, {}
            else:
                (name, args), = entry.items()
                args = dict(args or {})
            cfg = dict(args.pop("config", None) or {})
            for k in ("severity", "where", "limit", "tags", "enabled"):
                if k in args:
                    cfg[k] = args.pop(k)
            self.data_tests.append({"test": name, "target": target, "column": column,
                                    "kwargs": args, "config": cfg, "file": rel})
        for key in ("data_tests", "tests"):
            for e in obj.get(key) or []:
                add(e, None)
            for c in obj.get("columns") or []:
                for e in c.get(key) or []:
                    add(e, c["name"])

    def _folder_config(self, kind, fqn):
        section = {"model": "models", "seed": "seeds", "snapshot": "snapshots"}[kind]
        cfg = {}
        level = (self.cfg.get(section) or {}).get(self.name) or {}
        path = list(fqn)
        while True:
            for k, v in level.items():
                if k.startswith("+"):
                    key = k[1:]
                    if key == "tags":
                        cfg["tags"] = cfg.get("tags", []) + (v if isinstance(v, list) else [v])
                    else:
                        cfg[key] = v
            if not path or path[0] not in level:
                break
            level = level[path.pop(0)] or {}
        return cfg

    def _resolve(self):
        for name, n in self.nodes.items():
            if "kind" not in n:
                raise SystemExit("properties for unknown node " + name)
            cfg = self._folder_config(n["kind"], n["fqn"])
            cfg.update(n["yml_config"])
            cap = {"refs": [], "sources": [], "config": {}}
            if n["tpl"] is not None:
                n["schema"] = "main"
                self.render(n["tpl"], node=n, capture=cap)
            cfg.update(cap["config"])
            n["config"] = cfg
            n["refs"] = sorted(set(cap["refs"]))
            n["source_refs"] = sorted(set(cap["sources"]))
            if n["kind"] == "snapshot":
                n["schema"] = cfg["target_schema"]
            else:
                gen = self.macros.get("generate_schema_name")
                self.render([], n)  # binds the macros to this node's globals
                n["schema"] = str(gen(cfg.get("schema"), n)).strip() if gen else "main"
            n["relation"] = "%s.%s" % (n["schema"], name)
            n["materialized"] = {"seed": "seed", "snapshot": "snapshot"}.get(
                n["kind"], cfg.get("materialized", "view"))

    def order(self):
        done, out = set(), []

        def visit(name, stack):
            if name in done:
                return
            if name in stack:
                raise SystemExit("cycle: " + " -> ".join(stack + [name]))
            for d in self.nodes[name]["refs"]:
                visit(d, stack + [name])
            done.add(name)
            out.append(name)
        for name in sorted(self.nodes):
            visit(name, [])
        return out

    def compiled_sql(self, name, incremental_run=False, overrides=None):
        n = self.nodes[name]
        n["_incremental_run"] = incremental_run
        try:
            return self.render(n["tpl"], node=n, overrides=overrides).strip()
        finally:
            n["_incremental_run"] = False


# ----------------------------------------------------------------------------------------------
# Running SQL through `strata query`.
# ----------------------------------------------------------------------------------------------

class Warehouse:
    def __init__(self, strata, project_dir, print_sql=False):
        self.strata, self.dir, self.print_sql = strata, project_dir, print_sql
        self.calls = 0

    def run(self, sql):
        self.calls += 1
        if self.print_sql:
            print("---- SQL\n" + sql + "\n")
        p = subprocess.run([self.strata, "query", "-p", self.dir, "--json", sql],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError((p.stderr or p.stdout).strip() + "\n---- SQL:\n" + sql)
        out = p.stdout.strip()
        if not out.startswith("{"):
            return {"columns": [], "rows": [], "types": []}
        return json.loads(out)

    def scalar(self, sql):
        r = self.run(sql)
        return list(r["rows"][0].values())[0] if r["rows"] else None

    def columns(self, relation):
        schema, name = relation.split(".")
        r = self.run("select column_name, data_type from information_schema.columns "
                     "where table_schema = '%s' and table_name = '%s' order by ordinal_position"
                     % (schema, name))
        return [(x["column_name"], x["data_type"]) for x in r["rows"]]

    def exists(self, relation):
        return bool(self.columns(relation))


def sql_literal(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


# ----------------------------------------------------------------------------------------------
# Materializations (dbt semantics, DuckDB SQL).
# ----------------------------------------------------------------------------------------------

class Builder:
    def __init__(self, project, wh, log):
        self.p, self.wh, self.log = project, wh, log

    def ensure_schema(self, schema):
        self.wh.run("create schema if not exists %s" % schema)

    def build(self, name, full_refresh=False):
        n = self.p.nodes[name]
        self.ensure_schema(n["schema"])
        rel = n["relation"]
        m = n["materialized"]
        t0 = time.time()
        if m == "seed":
            self.seed(n)
        elif m == "view":
            self.wh.run("create or replace view %s as (\n%s\n)" % (rel, self.p.compiled_sql(name)))
        elif m == "table":
            self.wh.run("create or replace table %s as (\n%s\n)" % (rel, self.p.compiled_sql(name)))
        elif m == "incremental":
            self.incremental(n, full_refresh)
        elif m == "snapshot":
            self.snapshot(n)
        else:
            raise SystemExit("unsupported materialization " + m)
        rows = self.wh.scalar("select count(*) from %s" % rel)
        self.log("  %-11s %-34s %8s rows  %.2fs" % (m, rel, rows, time.time() - t0))

    def seed(self, n):
        types = (n["config"].get("column_types") or {})
        with open(n["path"], newline="") as f:
            rows = list(csv.reader(f))
        header, data = rows[0], rows[1:]
        cols = ", ".join("%s %s" % (c, types.get(c, "varchar")) for c in header)
        self.wh.run("create or replace table %s (%s)" % (n["relation"], cols))
        values = ",\n".join("(" + ", ".join(sql_literal(v) if v != "" else "null" for v in r) + ")"
                            for r in data)
        self.wh.run("insert into %s values\n%s" % (n["relation"], values))

    def incremental(self, n, full_refresh):
        rel, cfg = n["relation"], n["config"]
        if full_refresh or not self.wh.exists(rel):
            self.wh.run("create or replace table %s as (\n%s\n)" % (rel, self.p.compiled_sql(n["name"])))
            return
        tmp = rel + "__dbt_tmp"
        self.wh.run("create or replace table %s as (\n%s\n)"
                    % (tmp, self.p.compiled_sql(n["name"], incremental_run=True)))
        target_cols = [c for c, _ in self.wh.columns(rel)]
        tmp_cols = self.wh.columns(tmp)
        new = [(c, t) for c, t in tmp_cols if c not in target_cols]
        osc = cfg.get("on_schema_change", "ignore")
        if new and osc in ("append_new_columns", "sync_all_columns"):
            for c, t in new:
                self.wh.run("alter table %s add column %s %s" % (rel, c, t))
        elif new and osc == "fail":
            raise RuntimeError("schema change in " + rel)
        cols = [c for c, _ in tmp_cols if c in target_cols or osc in ("append_new_columns", "sync_all_columns")]
        key = cfg["unique_key"]
        keys = key if isinstance(key, list) else [key]
        strategy = cfg.get("incremental_strategy", "merge")
        if strategy != "merge":
            raise SystemExit("only merge is emulated")
        on = " and ".join("dbt_internal_dest.%s = dbt_internal_source.%s" % (k, k) for k in keys)
        self.wh.run(
            "merge into %s as dbt_internal_dest using %s as dbt_internal_source on (%s)\n"
            "when matched then update set %s\n"
            "when not matched then insert (%s) values (%s)"
            % (rel, tmp, on,
               ", ".join("%s = dbt_internal_source.%s" % (c, c) for c in cols),
               ", ".join(cols), ", ".join("dbt_internal_source." + c for c in cols)))
        merged = self.wh.scalar("select count(*) from %s" % tmp)
        self.wh.run("drop table %s" % tmp)
        self.log("    (incremental: %s rows merged)" % merged)

    def snapshot(self, n):
        cfg, rel = n["config"], n["relation"]
        assert cfg["strategy"] == "timestamp"
        key, upd = cfg["unique_key"], cfg["updated_at"]
        select = self.p.compiled_sql(n["name"])
        scd = ("md5(coalesce(cast(%s as varchar), '') || '|' || coalesce(cast(%s as varchar), ''))"
               % (key, upd))
        if not self.wh.exists(rel):
            self.wh.run("create table %s as (\nselect *, %s as dbt_scd_id, %s as dbt_updated_at, "
                        "%s as dbt_valid_from, cast(null as timestamp) as dbt_valid_to from (\n%s\n) "
                        "as snapshot_query)" % (rel, scd, upd, upd, select))
            return
        staging = rel + "__dbt_staging"
        self.wh.run("create or replace table %s as (\n%s\n)" % (staging, select))
        snap_cols = [c for c, _ in self.wh.columns(rel) if not c.startswith("dbt_")]
        # Changed rows: close the current version at the new version's updated_at.
        self.wh.run(
            "update %s as snap set dbt_valid_to = src.%s from %s as src "
            "where snap.%s = src.%s and snap.dbt_valid_to is null and src.%s > snap.dbt_updated_at"
            % (rel, upd, staging, key, key, upd))
        # New keys and new versions of closed ones.
        self.wh.run(
            "insert into %s (%s, dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to) "
            "select %s, %s, src.%s, src.%s, null from %s as src where not exists ("
            "select 1 from %s as snap where snap.%s = src.%s and snap.dbt_valid_to is null)"
            % (rel, ", ".join(snap_cols), ", ".join("src." + c for c in snap_cols),
               scd.replace("cast(%s" % key, "cast(src.%s" % key).replace("cast(%s" % upd, "cast(src.%s" % upd),
               upd, upd, staging, rel, key, key))
        if cfg.get("invalidate_hard_deletes"):
            self.wh.run(
                "update %s as snap set dbt_valid_to = current_localtimestamp() "
                "where snap.dbt_valid_to is null and not exists (select 1 from %s as src where src.%s = snap.%s)"
                % (rel, staging, key, key))
        self.wh.run("drop table %s" % staging)


# ----------------------------------------------------------------------------------------------
# Tests.
# ----------------------------------------------------------------------------------------------

def builtin_test_sql(test, model, column, kw):
    if test == "not_null":
        return "select %s from %s where %s is null" % (column, model, column)
    if test == "unique":
        return ("select %s as unique_field, count(*) as n_records from %s where %s is not null "
                "group by %s having count(*) > 1" % (column, model, column, column))
    if test == "accepted_values":
        quote = kw.get("quote", True)
        vals = ", ".join(sql_literal(str(v)) if quote else str(v) for v in kw["values"])
        return ("with all_values as (select %s as value_field, count(*) as n_records from %s group by %s) "
                "select * from all_values where value_field not in (%s)" % (column, model, column, vals))
    if test == "relationships":
        return ("with child as (select %s as from_field from %s where %s is not null), "
                "parent as (select %s as to_field from %s) "
                "select from_field from child left join parent on child.from_field = parent.to_field "
                "where parent.to_field is null" % (column, model, column, kw["field"], kw["to"]))
    return None


class Tester:
    def __init__(self, project, wh, log):
        self.p, self.wh, self.log = project, wh, log

    def target_relation(self, target):
        if target[0] == "source":
            src = self.p.sources[(target[1], target[2])]
            return "%s.%s" % (src["schema"], src["identifier"])
        return self.p.nodes[target[1]]["relation"]

    def data_test_sql(self, t):
        model = self.target_relation(t["target"])
        if t["config"].get("where"):
            model = "(select * from %s where %s) dbt_subquery" % (model, t["config"]["where"])
        kw = dict(t["kwargs"])
        if "to" in kw:
            kw["to"] = str(Env(self.p.make_globals()).eval(kw["to"], {}))
        sql = builtin_test_sql(t["test"], model, t["column"], kw)
        if sql is None:
            macro = self.p.tests_generic.get(t["test"])
            if macro is None:
                raise SystemExit("unknown test " + t["test"])
            self.p.render([], None)  # bind macro env to plain globals
            args = dict(kw)
            args["model"] = Relation(model)
            if t["column"]:
                args["column_name"] = t["column"]
            sql = str(macro(**args)).strip()
        return sql

    @staticmethod
    def test_name(t):
        tgt = "source:%s.%s" % (t["target"][1], t["target"][2]) if t["target"][0] == "source" else t["target"][1]
        return "%s(%s%s)" % (t["test"], tgt, "." + t["column"] if t["column"] else "")

    def run_all(self, only=None, quiet=False):
        results = {"pass": 0, "warn": 0, "fail": 0, "error": 0}
        failures = []
        items = []
        for t in self.p.data_tests:
            items.append((self.test_name(t), lambda t=t: self.data_test_sql(t),
                          t["config"].get("severity", "error")))
        for s in self.p.singular:
            cap = {"refs": [], "sources": [], "config": {}}
            sql = self.p.render(s["tpl"], capture=cap).strip()
            items.append((s["name"], lambda sql=sql: sql, cap["config"].get("severity", "error")))
        for name, make_sql, severity in items:
            if only and not only(name):
                continue
            try:
                sql = make_sql()
                n = int(self.wh.scalar("select count(*) from (\n%s\n) dbt_internal_test" % sql))
            except Exception as e:  # noqa: BLE001
                results["error"] += 1
                failures.append("ERROR %s: %s" % (name, str(e).splitlines()[0]))
                continue
            if n == 0:
                results["pass"] += 1
            elif str(severity).lower() == "warn":
                results["warn"] += 1
                failures.append("WARN  %s: %d failing rows" % (name, n))
            else:
                results["fail"] += 1
                failures.append("FAIL  %s: %d failing rows\n%s" % (name, n, sql))
        if not quiet or failures:
            for f in failures:
                self.log("    " + f)
        return results, failures

    # ---- unit tests ----
    def fixture(self, relation_cols, rows):
        cols = relation_cols
        selects = []
        for r in rows or []:
            unknown = set(r) - {c for c, _ in cols}
            if unknown:
                raise RuntimeError("fixture columns not in relation: %s" % sorted(unknown))
            selects.append("select " + ", ".join(
                "cast(%s as %s) as %s" % (sql_literal(r.get(c)), t, c) for c, t in cols))
        if not selects:
            selects.append("select " + ", ".join("cast(null as %s) as %s" % (t, c) for c, t in cols)
                           + " where false")
        return Relation("(\n" + "\nunion all\n".join(selects) + "\n)")

    def run_unit_test(self, u):
        model = u["model"]
        node = self.p.nodes[model]
        fixtures = {}
        this_rel = None
        given_names = set()
        for g in u.get("given") or []:
            inp = g["input"].strip()
            if inp == "this":
                this_rel = self.fixture(self.wh.columns(node["relation"]), g.get("rows"))
                continue
            m = re.match(r"^ref\(\s*['\"](\w+)['\"]\s*\)$", inp)
            if m:
                given_names.add(("ref", m.group(1)))
                fixtures[("ref", m.group(1))] = self.fixture(
                    self.wh.columns(self.p.nodes[m.group(1)]["relation"]), g.get("rows"))
                continue
            m = re.match(r"^source\(\s*['\"](\w+)['\"]\s*,\s*['\"](\w+)['\"]\s*\)$", inp)
            if m:
                key = ("source", m.group(1), m.group(2))
                given_names.add(key)
                src = self.p.sources[(m.group(1), m.group(2))]
                fixtures[key] = self.fixture(self.wh.columns("%s.%s" % (src["schema"], src["identifier"])),
                                             g.get("rows"))
                continue
            raise RuntimeError("unsupported unit test input " + inp)
        needed = {("ref", r) for r in node["refs"]} | {("source",) + s for s in node["source_refs"]}
        missing = needed - given_names
        if missing:
            raise RuntimeError("unit test %s lacks inputs %s" % (u["name"], sorted(missing)))
        ov = dict(u.get("overrides") or {})
        ov["_fixtures"] = fixtures
        if this_rel is not None:
            ov["_this"] = this_rel
        if node["materialized"] == "incremental" and "is_incremental" not in (ov.get("macros") or {}):
            raise RuntimeError("unit test of an incremental model must override is_incremental")
        sql = self.p.compiled_sql(model, overrides=ov)
        exp_rows = (u.get("expect") or {}).get("rows") or []
        cols = []
        for r in exp_rows:
            for c in r:
                if c not in cols:
                    cols.append(c)
        actual = self.wh.run("select %s from (\n%s\n) as actual" % (", ".join(cols), sql))
        types = dict(zip(actual["columns"], actual["types"]))
        if exp_rows:
            exp_sql = "\nunion all\n".join(
                "select " + ", ".join("cast(%s as %s) as %s" % (sql_literal(r.get(c)), types[c], c) for c in cols)
                for r in exp_rows)
            expected = self.wh.run(exp_sql)
        else:
            expected = {"rows": []}

        def key(rows):
            return sorted(tuple("<null>" if r[c] is None else r[c] for c in cols) for r in rows)
        a, e = key(actual["rows"]), key(expected["rows"])
        if a != e:
            return False, "expected %s\n      actual   %s" % (e, a)
        return True, ""


# ----------------------------------------------------------------------------------------------
# Driver.
# ----------------------------------------------------------------------------------------------

def count_tests(p):
    by_kind = {}
    for t in p.data_tests:
        kind = "source" if t["target"][0] == "source" else p.nodes[t["target"][1]]["kind"]
        by_kind[kind] = by_kind.get(kind, 0) + 1
    by_test = {}
    for t in p.data_tests:
        by_test[t["test"]] = by_test.get(t["test"], 0) + 1
    return by_kind, by_test


def check_descriptions(p, log):
    problems = []
    for name, n in p.nodes.items():
        if n["kind"] == "model" and not n.get("description"):
            problems.append("model %s has no description" % name)
    return problems


def copy_warehouse(src_wh, strata_yml):
    d = tempfile.mkdtemp(prefix="shop_transform_check_")
    os.makedirs(os.path.join(d, "warehouse"))
    shutil.copy(strata_yml, os.path.join(d, "strata.yml"))
    shutil.copy(src_wh, os.path.join(d, "warehouse", "shop.duckdb"))
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", default=os.path.join(REPO, "examples/shop/warehouse/shop.duckdb"))
    ap.add_argument("--strata-yml", default=os.path.join(REPO, "examples/shop/strata.yml"))
    ap.add_argument("--strata", default=os.path.join(REPO, "build/strata"))
    ap.add_argument("--skip-replay", action="store_true")
    ap.add_argument("--tests-every-day", action="store_true", help="run all data tests after every replayed day")
    ap.add_argument("--print-sql", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary warehouse copies")
    args = ap.parse_args()

    log = print
    if not (os.path.isfile(args.strata) and os.access(args.strata, os.X_OK)):
        sys.exit("no strata binary at %s: build it (make build) or pass --strata" % args.strata)
    if not os.path.isfile(args.warehouse):
        sys.exit("no warehouse at %s: run scripts/demo.sh first or pass --warehouse" % args.warehouse)
    p = Project(PROJECT)
    order = p.order()
    ok = True

    by_kind, by_test = count_tests(p)
    n_generic = sum(by_kind.values())
    log("== project %s: %d models, %d seeds, %d snapshots, %d macros, %d generic test definitions"
        % (p.name, sum(1 for n in p.nodes.values() if n["kind"] == "model"),
           sum(1 for n in p.nodes.values() if n["kind"] == "seed"),
           sum(1 for n in p.nodes.values() if n["kind"] == "snapshot"), len(p.macros), len(p.tests_generic)))
    log("   data tests: %d generic applications (%s) + %d singular = %d; unit tests: %d"
        % (n_generic, ", ".join("%s %d" % kv for kv in sorted(by_kind.items())), len(p.singular),
           n_generic + len(p.singular), len(p.unit_tests)))
    log("   by test: " + ", ".join("%s %d" % kv for kv in sorted(by_test.items())))
    log("   build order: " + " -> ".join(order))
    for prob in check_descriptions(p, log):
        log("   PROBLEM " + prob)
        ok = False
    for name in order:
        n = p.nodes[name]
        if n["kind"] == "model" and n["fqn"][:1] == ["marts"]:
            for c, spec in n["columns"].items():
                if not spec.get("description"):
                    log("   PROBLEM mart column %s.%s has no description" % (name, c))
                    ok = False

    # ---------------- Phase A: one full build on the warehouse as landed ----------------
    d = copy_warehouse(args.warehouse, args.strata_yml)
    wh = Warehouse(args.strata, d, args.print_sql)
    log("\n== phase A: full build on a copy of %s (%s)" % (args.warehouse, d))
    b = Builder(p, wh, log)
    t = Tester(p, wh, log)
    t0 = time.time()
    for name in order:
        b.build(name)
    log("== documented columns vs built relations")
    for name in order:
        n = p.nodes[name]
        built = [c for c, _ in wh.columns(n["relation"])]
        documented = list(n["columns"])
        missing_doc = [c for c in built if c not in documented and not (n["kind"] == "snapshot" and c.startswith("dbt_"))]
        unknown = [c for c in documented if c not in built]
        if unknown or (missing_doc and n["kind"] == "model"):
            log("   PROBLEM %s: undocumented %s, documented but absent %s" % (name, missing_doc, unknown))
            ok = False
    log("   checked %d relations" % len(order))
    log("== data tests")
    res, _ = t.run_all()
    log("   pass %(pass)d, warn %(warn)d, fail %(fail)d, error %(error)d" % res)
    ok = ok and res["fail"] == 0 and res["error"] == 0
    log("== unit tests")
    for u in p.unit_tests:
        try:
            passed, msg = t.run_unit_test(u)
        except Exception as e:  # noqa: BLE001
            passed, msg = False, "ERROR " + str(e)
        log("   %s %s (%s)%s" % ("PASS" if passed else "FAIL", u["name"], u["model"],
                                 "" if passed else "\n      " + msg))
        ok = ok and passed
    log("   phase A: %d queries, %.1fs" % (wh.calls, time.time() - t0))
    if not args.keep:
        shutil.rmtree(d)

    # ---------------- Phase B: replay day by day ----------------
    if not args.skip_replay:
        d = copy_warehouse(args.warehouse, args.strata_yml)
        wh = Warehouse(args.strata, d, args.print_sql)
        b, t = Builder(p, wh, log), Tester(p, wh, log)
        t0 = time.time()
        log("\n== phase B: replay, one `dbt build` per ingestion day (%s)" % d)
        raw_tables = sorted({(s["schema"], s["identifier"]) for s in p.sources.values()})
        wh.run("create schema if not exists raw_full")
        for schema, ident in raw_tables:
            wh.run("create table raw_full.%s as select * from %s.%s" % (ident, schema, ident))
        days = [r["d"] for r in wh.run(
            "select distinct regexp_extract(_lake_file, 'dt=([0-9-]{10})', 1) as d "
            "from raw_full.shopdb_orders order by 1")["rows"]]
        for i, day in enumerate(days):
            log("-- day %s" % day)
            for schema, ident in raw_tables:
                cols = [c for c, _ in wh.columns("raw_full." + ident)]
                sel = "*"
                if "app_version" in cols:
                    n = int(wh.scalar("select count(app_version) from raw_full.%s where "
                                      "regexp_extract(_lake_file, 'dt=([0-9-]{10})', 1) <= '%s'" % (ident, day)))
                    if n == 0:
                        sel = "* exclude (app_version)"  # the column appears with the drift day
                wh.run("create or replace table %s.%s as select %s from raw_full.%s "
                       "where regexp_extract(_lake_file, 'dt=([0-9-]{10})', 1) <= '%s'"
                       % (schema, ident, sel, ident, day))
            for name in order:
                if p.nodes[name]["kind"] == "seed" and i > 0:
                    continue
                b.build(name)
            last = i == len(days) - 1
            if args.tests_every_day or last:
                res, _ = t.run_all(quiet=True)
            else:
                res, _ = t.run_all(only=lambda nm: nm.startswith("assert_"), quiet=True)
            log("   tests: pass %(pass)d, warn %(warn)d, fail %(fail)d, error %(error)d" % res)
            ok = ok and res["fail"] == 0 and res["error"] == 0
        # The incremental fact must equal a full refresh.
        fact = p.nodes["fact_orders"]
        full = p.compiled_sql("fact_orders")
        diff = int(wh.scalar("select count(*) from ((select * from %s except all select * from (%s)) "
                             "union all (select * from (%s) except all select * from %s))"
                             % (fact["relation"], full, full, fact["relation"])))
        log("== incremental fact_orders vs full refresh: %d differing rows" % diff)
        ok = ok and diff == 0
        versions = wh.run("select count(*) as versions, count(distinct customer_id) as customers, "
                          "count(*) filter (where not is_current) as closed from %s" % p.nodes["dim_customers"]["relation"])
        log("== dim_customers after replay: %s" % versions["rows"][0])
        log("   phase B: %d queries, %.1fs" % (wh.calls, time.time() - t0))
        if not args.keep:
            shutil.rmtree(d)

    log("\n== %s" % ("ALL OK" if ok else "FAILURES"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
