#!/usr/bin/env python3
"""Prints the module graph of src/: which files and which top-level modules use which,
the cycles (strongly connected components) at both levels, and the longest functions.

    python3 scripts/module-graph.py [--features-only]

A file `src/a/b.rs` is module `a::b`; `use crate::x::y` and inline `crate::x::y::z` paths are
edges to the longest existing module prefix. Only for reading the shape of the code; the
rules that must hold are tested in tests/it/architecture.rs.
"""
import os, re, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

def modules():
    mods = {}
    for d, _, files in os.walk(ROOT):
        for f in files:
            if not f.endswith(".rs"):
                continue
            p = os.path.join(d, f)
            rel = os.path.relpath(p, ROOT)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"], ["main"]):
                continue
            mods["::".join(rel)] = p
    return mods

def strip_tests(src):
    # drop `#[cfg(test)] mod tests { ... }` at the end of a file (heuristic: from the marker on)
    i = src.find("#[cfg(test)]\nmod tests")
    return src if i < 0 else src[:i]

def refs(src):
    out = set()
    src = re.sub(r"//[^\n]*", "", src)
    for m in re.finditer(r"use crate::\{([^;]*)\};", src, re.S):
        for part in re.split(r",\s*(?![^{]*\})", m.group(1)):
            out.add(re.sub(r"\s+", "", part).split("::{")[0])
    for m in re.finditer(r"crate::((?:[a-z_0-9]+::)*[a-z_0-9A-Z]+)", src):
        out.add(m.group(1))
    return out

def resolve(path, mods):
    parts = path.split("::")
    for n in range(len(parts), 0, -1):
        cand = "::".join(parts[:n])
        if cand in mods:
            return cand
    return None

def sccs(graph):
    index, low, stack, on, res, i = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)
    def visit(v):
        index[v] = low[v] = i[0]; i[0] += 1; stack.append(v); on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: res.append(sorted(comp))
    for v in list(graph):
        if v not in index: visit(v)
    return res

def main():
    mods = modules()
    files = {}
    for m, p in mods.items():
        src = strip_tests(open(p).read())
        deps = {resolve(r, mods) for r in refs(src)}
        deps.discard(None); deps.discard(m)
        # a module using its own submodule or parent is not a cross edge
        files[m] = {d for d in deps if not d.startswith(m + "::")}
    feats = {}
    for m, ds in files.items():
        a = m.split("::")[0]
        for d in ds:
            b = d.split("::")[0]
            if a != b:
                feats.setdefault(a, set()).add(b)
        feats.setdefault(a, set())
    fc = sccs(files)
    print(f"files: {len(files)}, file edges: {sum(len(v) for v in files.values())}")
    print(f"file-level cycles (SCCs): {len(fc)}")
    for c in fc:
        print("  ", " <-> ".join(c))
    tc = sccs(feats)
    print(f"top-level module cycles (SCCs): {len(tc)}")
    for c in tc:
        print("  ", " <-> ".join(c))
    pairs = sorted({tuple(sorted((a, b))) for a in feats for b in feats[a] if a in feats.get(b, ())})
    print(f"top-level pairs that import each other: {len(pairs)}")
    for a, b in pairs:
        print("  ", a, "<->", b)
    if "--features-only" in sys.argv:
        return
    print("top-level module -> what it uses")
    for a in sorted(feats):
        print(f"  {a}: {', '.join(sorted(feats[a]))}")
    # longest functions
    fns = []
    for m, p in mods.items():
        lines = strip_tests(open(p).read()).split("\n")
        for n, line in enumerate(lines):
            mm = re.match(r"^(\s*)(pub(\([a-z]+\))? )?(async )?fn ([a-z_0-9]+)", line)
            if not mm:
                continue
            ind = mm.group(1)
            for k in range(n + 1, len(lines)):
                if lines[k].startswith(ind + "}"):
                    fns.append((k - n + 1, f"{m}::{mm.group(5)}"))
                    break
    fns.sort(reverse=True)
    print("longest functions (lines):")
    for l, name in fns[:12]:
        print(f"  {l:4} {name}")

main()
