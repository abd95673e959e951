#!/bin/sh
# layers.sh - keeps the include graph of the product code in layer order:
#   util < log < config < http < ddb/auth/user < models < handlers < router
#   < entry points (cgi-bin/, lambda/, portalctl/)
# A file may include its own layer or a lower one, never a higher one, and the
# modules (x.c + x.h + x_int.h) form no cycle. Every file of src/ must be placed
# in a layer below (a new file fails until it is). Prints TAP.
#
# Override LAYERS_TOP (the tree to check) to try it on a scratch copy.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
export LAYERS_TOP="${LAYERS_TOP:-$top_srcdir}"
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..1"
	echo "not ok 1 - python3 is needed to run this test"
	exit 1
fi
exec python3 - <<'PYTHON'
import os
import re
import sys

TOP = os.environ["LAYERS_TOP"]
LAYER_NAMES = ["util", "log", "config", "http", "ddb/auth/user", "models",
               "handlers", "router", "entry points"]
# Module -> layer index (LAYER_NAMES). A module is a file name without its
# extension and without a trailing "_int" (a module's private header).
SRC_LAYERS = {
    "util": 0,
    "log": 1,
    "config": 2,
    "http": 3, "json_check": 3, "json_write": 3, "httpc": 3, "sigv4": 3, "creds": 3,
    "ddb": 4, "ddb_marshal": 4, "ddb_answer": 4, "auth": 4, "user": 4, "app": 4,
    "cache": 4, "secrets": 4, "schema": 4,
    "model": 5, "model_users": 5, "model_deliverables": 5,
    "model_dashboard": 5, "model_metrics": 5, "model_updates": 5,
    "model_health": 5, "roles": 5, "digest": 5, "digest_cache": 5,
    "digest_llm": 5, "digest_markdown": 5, "digest_publish": 5,
    "migrate": 5, "seed": 5,
    "handlers": 6, "handler_util": 6, "handler_dashboard": 6,
    "handler_deliverables": 6, "handler_digest": 6, "handler_docs": 6,
    "handler_health": 6, "handler_metrics": 6, "handler_updates": 6,
    "handler_users": 6, "idempotency": 6, "docs_assets": 6,
    "router": 7,
}
ENTRY_DIRS = ["cgi-bin", "lambda", "portalctl"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')

def module(path):
    name = os.path.splitext(os.path.basename(path))[0]
    if name.endswith("_int"):
        name = name[:-4]
    return os.path.dirname(path) + "/" + name

files = []
for d in ["src"] + ENTRY_DIRS:
    full = os.path.join(TOP, d)
    if not os.path.isdir(full):
        continue
    for f in sorted(os.listdir(full)):
        if f.endswith((".c", ".h")):
            files.append(d + "/" + f)

def layer_of(mod):
    d, name = mod.split("/", 1)
    if d in ENTRY_DIRS:
        return 8
    return SRC_LAYERS.get(name)

results = []
unplaced = sorted({module(f) for f in files if layer_of(module(f)) is None})
results.append((not unplaced, "every file of src/ has a layer",
                ["not placed: " + m for m in unplaced]))

edges = {}
upward = []
for f in files:
    src_mod = module(f)
    with open(os.path.join(TOP, f), encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            inc = m.group(1)
            here = os.path.join(os.path.dirname(f), inc)
            target = here if os.path.exists(os.path.join(TOP, here)) else "src/" + inc
            dst_mod = module(target)
            if dst_mod == src_mod:
                continue
            edges.setdefault(src_mod, set()).add(dst_mod)
            a, b = layer_of(src_mod), layer_of(dst_mod)
            if a is not None and b is not None and b > a:
                upward.append("%s:%d includes %s (%s above %s)" % (
                    f, lineno, inc, LAYER_NAMES[b], LAYER_NAMES[a]))
results.append((not upward, "no file includes a higher layer", upward))

# Cycles among modules (depth-first search, reporting each cycle once).
cycles = []
state = {}
stack = []
def visit(n):
    state[n] = 1
    stack.append(n)
    for m in sorted(edges.get(n, ())):
        if state.get(m) == 1:
            cyc = stack[stack.index(m):] + [m]
            cycles.append(" -> ".join(c.split("/", 1)[1] for c in cyc))
        elif m not in state:
            visit(m)
    stack.pop()
    state[n] = 2
for n in sorted(edges):
    if n not in state:
        visit(n)
results.append((not cycles, "no include cycle among modules", cycles))

print("1..%d" % len(results))
for i, (ok, name, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    for d in detail:
        print("# " + d)
PYTHON
