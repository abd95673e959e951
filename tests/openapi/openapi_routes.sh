#!/bin/sh
# openapi_routes.sh - keeps openapi.yaml true to the code: every
# route of src/router.c's table is documented with the same method, path and
# x-min-role, nothing else is, and the document's structure holds (valid
# YAML, refs resolve, path parameters declared, the statuses the router can
# answer listed, bodies closed with additionalProperties: false, error codes
# the ones the code sends). Prints TAP.
#
# Needs bash and python3 (stdlib). With PyYAML (Debian package python3-yaml)
# it checks the parsed document too; without it those checks are skipped and
# the route checks read the file line by line (its regular layout).
#
# Overrides (for trying it on scratch copies): OPENAPI_ROUTER (router.c),
# OPENAPI_SPEC (openapi.yaml), OPENAPI_CONFIGURE_AC, OPENAPI_SRCDIR (the
# directory of *.c files whose error codes the document must list),
# OPENAPI_NGINX (the nginx site, whose own error codes it must list too).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
export OPENAPI_ROUTER="${OPENAPI_ROUTER:-$top_srcdir/src/router.c}"
export OPENAPI_SPEC="${OPENAPI_SPEC:-$top_srcdir/openapi.yaml}"
export OPENAPI_CONFIGURE_AC="${OPENAPI_CONFIGURE_AC:-$top_srcdir/configure.ac}"
export OPENAPI_SRCDIR="${OPENAPI_SRCDIR:-$top_srcdir/src}"
export OPENAPI_NGINX="${OPENAPI_NGINX:-$top_srcdir/nginx/turbotech-portal.conf}"

if ! command -v python3 >/dev/null 2>&1; then
	echo "1..1"
	echo "not ok 1 - python3 is needed to run this test"
	exit 1
fi

exec python3 - <<'PYTHON'
import glob
import os
import re
import sys

ROUTER = os.environ["OPENAPI_ROUTER"]
SPEC = os.environ["OPENAPI_SPEC"]
CONFIGURE_AC = os.environ["OPENAPI_CONFIGURE_AC"]
SRCDIR = os.environ["OPENAPI_SRCDIR"]
NGINX = os.environ["OPENAPI_NGINX"]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ROLES = {"ROLE_NONE": "none", "ROLE_CLIENT": "client", "ROLE_TEAM": "team", "ROLE_ADMIN": "admin"}

results = []  # (ok, description, diagnostics, skip reason)


def check(ok, desc, diag=None, skip=None):
    """Records one TAP result."""
    results.append((bool(ok), desc, diag or [], skip))


def skip(desc, why):
    """Records a skipped TAP result."""
    results.append((True, desc, [], why))


def finish():
    """Prints the plan and the results; exits 1 when any failed."""
    print("1..%d" % len(results))
    failed = 0
    for i, (ok, desc, diag, why) in enumerate(results, 1):
        line = "%s %d - %s" % ("ok" if ok else "not ok", i, desc)
        if why:
            line += " # SKIP " + why
        print(line)
        for d in diag:
            print("# " + d)
        failed += not ok
    sys.stdout.flush()
    sys.exit(1 if failed else 0)


def read(path):
    """The text of a file, or None."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


# --- the route table of src/router.c ---------------------------------------

def parse_router(text):
    """[(method, pattern, role, takes_body)] from the routes[] table; error text or None."""
    m = re.search(r"struct\s+route\s+routes\s*\[\s*\]\s*=\s*\{(.*?)\n\s*\}\s*;", text, re.S)
    if not m:
        return None, "no `static const struct route routes[] = { ... };` table found"
    block = re.sub(r"/\*.*?\*/", " ", m.group(1), flags=re.S)
    block = re.sub(r"//[^\n]*", " ", block)
    # One brace group per entry; strings may hold braces ("/api/x/{id}").
    entries = re.findall(r'\{((?:"(?:[^"\\]|\\.)*"|[^{}"])*)\}', block)
    routes = []
    for e in entries:
        fields = dict(re.findall(r'\.(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,]+?)\s*(?:,|$)', e.strip()))
        method = fields.get("method", "").strip('"')
        pattern = fields.get("pattern", "").strip('"')
        role = ROLES.get(fields.get("min_role", "ROLE_NONE").strip())
        body = fields.get("takes_body", "false").strip() == "true"
        if not method or not pattern or role is None:
            return None, "cannot read the entry {%s}" % " ".join(e.split())
        routes.append((method.upper(), pattern, role, body))
    handlers = len(re.findall(r"\.handler\s*=", block))
    if handlers != len(routes):
        return None, "read %d entries but the table has %d handlers" % (len(routes), handlers)
    return routes, None


router_text = read(ROUTER)
routes, why = (None, "cannot read %s" % ROUTER) if router_text is None else parse_router(router_text)
check(routes, "the route table of %s is read (%d routes)" % (os.path.basename(ROUTER), len(routes or [])),
      [why] if why else None)
routes = routes or []
dupes = sorted({(m, p) for m, p, _, _ in routes if sum(1 for r in routes if r[:2] == (m, p)) > 1})
check(not dupes, "the route table has no duplicate method and path",
      ["%s %s twice" % d for d in dupes])


# --- openapi.yaml, line by line (its regular layout) ------------------------

def parse_lines(text):
    """{(METHOD, path): {"role", "security_none", "body"}} from the layout the file keeps; problems."""
    ops, problems = {}, []
    in_paths, path, op = False, None, None
    for n, line in enumerate(text.split("\n"), 1):
        if "\t" in line:
            problems.append("line %d: a tab" % n)
        if line.rstrip() != line:
            problems.append("line %d: trailing blanks" % n)
        if re.match(r"^\S", line) and not line.startswith("#"):
            in_paths = re.match(r"^paths:\s*$", line) is not None
            path = op = None
            continue
        if not in_paths:
            continue
        m = re.match(r"^  (\S.*?):\s*$", line)
        if m:
            path, op = m.group(1).strip("'\""), None
            if not path.startswith("/"):
                problems.append("line %d: a path key that does not start with /: %s" % (n, path))
            continue
        m = re.match(r"^    (\w+):", line)
        if m:
            op = None
            if m.group(1) in HTTP_METHODS and path is not None:
                op = (m.group(1).upper(), path)
                if op in ops:
                    problems.append("line %d: %s %s twice" % (n, op[0], op[1]))
                ops[op] = {"role": None, "security_none": False, "body": False, "line": n}
            continue
        if op is None:
            continue
        m = re.match(r"^      x-min-role:\s*(\S+)\s*$", line)
        if m:
            ops[op]["role"] = m.group(1).strip("'\"")
        elif re.match(r"^      security:\s*\[\s*\]\s*$", line):
            ops[op]["security_none"] = True
        elif re.match(r"^      requestBody:", line):
            ops[op]["body"] = True
    return ops, problems


spec_text = read(SPEC)
check(spec_text is not None, "%s exists" % os.path.basename(SPEC))
spec_text = spec_text or ""
line_ops, problems = parse_lines(spec_text)
check(line_ops and not problems,
      "openapi.yaml keeps its layout (no tabs; paths at 2, operations at 4 spaces; %d operations)" % len(line_ops),
      problems[:20] or (["no operations found under paths:"] if not line_ops else None))


# --- the route checks: the router and the document agree -------------------

for method, pattern, role, _ in routes:
    op = line_ops.get((method, pattern))
    if op is None:
        check(False, "%s %s is documented" % (method, pattern),
              ["add it under paths: in openapi.yaml with x-min-role: %s" % role])
    else:
        check(op["role"] == role, "%s %s is documented with x-min-role: %s" % (method, pattern, role),
              None if op["role"] == role else ["openapi.yaml line %d says x-min-role: %s" % (op["line"], op["role"])])

known = {(m, p) for m, p, _, _ in routes}
phantoms = sorted(k for k in line_ops if k not in known)
check(routes and not phantoms, "every documented operation is a route of the router (no phantom routes)",
      ["%s %s is in openapi.yaml but not in the route table" % p for p in phantoms])

by_route = {(m, p): (r, b) for m, p, r, b in routes}
bad_security = []
for k, op in sorted(line_ops.items()):
    if k not in by_route:
        continue
    role, body = by_route[k]
    if (role == "none") != op["security_none"]:
        bad_security.append("%s %s: min role %s but security: [] is %s" %
                            (k[0], k[1], role, "set" if op["security_none"] else "missing"))
    if body != op["body"]:
        bad_security.append("%s %s: takes_body %s but requestBody is %s" %
                            (k[0], k[1], str(body).lower(), "there" if op["body"] else "missing"))
check(routes and line_ops and not bad_security,
      "auth (security: [] exactly where no role is needed) and request bodies match the router",
      bad_security)

ac = read(CONFIGURE_AC) or ""
m = re.search(r"AC_INIT\(\s*\[[^\]]*\]\s*,\s*\[([^\]]+)\]", ac)
ac_version = m.group(1) if m else None
m = re.search(r"^info:\s*\n(?:[ ].*\n)*?  version:\s*['\"]?([^'\"\s]+)", spec_text, re.M)
spec_version = m.group(1) if m else None
check(ac_version and spec_version == ac_version,
      "info.version matches configure.ac's AC_INIT version (%s)" % ac_version,
      None if spec_version == ac_version else ["openapi.yaml says %s" % spec_version])


# --- the parsed document (PyYAML) -------------------------------------------

try:
    import yaml
except ImportError:
    yaml = None

STRUCTURE = [
    "openapi.yaml parses as YAML and its operations are the ones read line by line",
    "openapi 3.0.3 with info.title, servers and a bearer JWT bearerAuth applied globally",
    "every $ref resolves inside the document",
    "every operation has a unique operationId, a summary and x-min-role",
    "every {param} of a path is declared as a required path parameter, and no other",
    "every operation lists the statuses the router can answer on it (400, 401, 403, 413, 415, 500, 503)",
    "request bodies are required JSON objects with additionalProperties: false",
    "every response but 204/304 has a JSON schema (docs: their media types), and carries X-Request-Id",
    "the Error schema's code enum is exactly the codes the code and nginx send",
]

if yaml is None:
    for desc in STRUCTURE:
        skip(desc, "no PyYAML (Debian package python3-yaml)")
    finish()

try:
    doc = yaml.safe_load(spec_text)
    parse_error = None
except yaml.YAMLError as e:
    doc, parse_error = None, str(e).replace("\n", " ")
if not isinstance(doc, dict):
    check(False, STRUCTURE[0], [parse_error or "not a mapping"])
    for desc in STRUCTURE[1:]:
        skip(desc, "the document does not parse")
    finish()

paths = doc.get("paths") or {}
parsed_ops = {}
for p, item in paths.items():
    for meth, op in (item or {}).items():
        if meth in HTTP_METHODS:
            parsed_ops[(meth.upper(), p)] = op
diff = sorted(set(parsed_ops) ^ set(line_ops))
roles_differ = sorted(k for k in parsed_ops if k in line_ops and
                      str((parsed_ops[k] or {}).get("x-min-role")) != str(line_ops[k]["role"]))
check(not diff and not roles_differ, STRUCTURE[0],
      ["%s %s: read differently line by line (keep the layout)" % k for k in diff + roles_differ])


def resolve(node):
    """Follows a local $ref (one level or more); None when it does not resolve."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or seen > 20:
            return None
        node = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        seen += 1
    return node


problems = []
info = doc.get("info") or {}
if doc.get("openapi") != "3.0.3":
    problems.append("openapi is %r, not 3.0.3" % doc.get("openapi"))
if info.get("title") != "TurboTech Portal API":
    problems.append("info.title is %r" % info.get("title"))
if not doc.get("servers"):
    problems.append("no servers")
scheme = ((doc.get("components") or {}).get("securitySchemes") or {}).get("bearerAuth") or {}
if scheme.get("type") != "http" or scheme.get("scheme") != "bearer" or scheme.get("bearerFormat") != "JWT":
    problems.append("components.securitySchemes.bearerAuth is not an http bearer JWT scheme")
if doc.get("security") != [{"bearerAuth": []}]:
    problems.append("top-level security is not [{bearerAuth: []}]")
check(not problems, STRUCTURE[1], problems)


def walk_refs(node, where, bad):
    """Collects the $refs under node that do not resolve."""
    if isinstance(node, dict):
        if "$ref" in node and resolve(node) is None:
            bad.append("%s: %s" % (where, node["$ref"]))
        for k, v in node.items():
            walk_refs(v, "%s/%s" % (where, k), bad)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk_refs(v, "%s/%d" % (where, i), bad)


bad = []
walk_refs(doc, "#", bad)
check(not bad, STRUCTURE[2], bad[:20])

problems, ids = [], {}
for (meth, p), op in sorted(parsed_ops.items()):
    op = op or {}
    oid = op.get("operationId")
    if not oid:
        problems.append("%s %s: no operationId" % (meth, p))
    elif oid in ids:
        problems.append("%s %s: operationId %s also on %s %s" % ((meth, p, oid) + ids[oid]))
    else:
        ids[oid] = (meth, p)
    if not op.get("summary"):
        problems.append("%s %s: no summary" % (meth, p))
    if op.get("x-min-role") not in ("none", "client", "team", "admin"):
        problems.append("%s %s: x-min-role %r" % (meth, p, op.get("x-min-role")))
check(not problems, STRUCTURE[3], problems)


def params_of(path_item, op):
    """The resolved parameters of an operation, path-level ones included."""
    out = {}
    for prm in list((path_item or {}).get("parameters") or []) + list((op or {}).get("parameters") or []):
        prm = resolve(prm) or {}
        out[(prm.get("in"), prm.get("name"))] = prm
    return out


problems = []
for (meth, p), op in sorted(parsed_ops.items()):
    want = set(re.findall(r"\{(\w+)\}", p))
    prms = params_of(paths[p], op)
    have = {name for (where, name) in prms if where == "path"}
    for name in sorted(want - have):
        problems.append("%s %s: {%s} is not declared" % (meth, p, name))
    for name in sorted(have - want):
        problems.append("%s %s: path parameter %s is not in the path" % (meth, p, name))
    for name in sorted(want & have):
        if prms[("path", name)].get("required") is not True or "schema" not in prms[("path", name)]:
            problems.append("%s %s: path parameter %s needs required: true and a schema" % (meth, p, name))
check(not problems, STRUCTURE[4], problems)

problems = []
for (meth, p), op in sorted(parsed_ops.items()):
    if (meth, p) not in by_route:
        continue
    role, body = by_route[(meth, p)]
    got = {str(s) for s in ((op or {}).get("responses") or {})}
    need = {"400", "413"}
    if role != "none":
        need |= {"401", "403", "500", "503"}
    if body:
        need |= {"415"}
    if not got & {"200", "201", "204"}:
        problems.append("%s %s: no success response" % (meth, p))
    for s in sorted(need - got):
        problems.append("%s %s: no %s response" % (meth, p, s))
    if role == "none" and "401" in got:
        problems.append("%s %s: needs no token yet lists 401" % (meth, p))
    if not body and "415" in got:
        problems.append("%s %s: takes no body yet lists 415" % (meth, p))
check(not problems, STRUCTURE[5], problems)

problems = []
for (meth, p), op in sorted(parsed_ops.items()):
    rb = (op or {}).get("requestBody")
    if rb is None:
        continue
    rb = resolve(rb) or {}
    schema = resolve((((rb.get("content") or {}).get("application/json")) or {}).get("schema")) or {}
    if rb.get("required") is not True:
        problems.append("%s %s: requestBody is not required: true" % (meth, p))
    if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
        problems.append("%s %s: the body schema is not an object with additionalProperties: false" % (meth, p))
    for name in schema.get("required") or []:
        if name not in (schema.get("properties") or {}):
            problems.append("%s %s: required field %s is not a property" % (meth, p, name))
check(not problems, STRUCTURE[6], problems)

problems = []
for (meth, p), op in sorted(parsed_ops.items()):
    for status, resp in ((op or {}).get("responses") or {}).items():
        resp = resolve(resp) or {}
        if "X-Request-Id" not in (resp.get("headers") or {}):
            problems.append("%s %s %s: no X-Request-Id header" % (meth, p, status))
        content = resp.get("content") or {}
        schema = (content.get("application/json") or {}).get("schema")
        if str(status) in ("204", "304"):
            if content:
                problems.append("%s %s %s: has content" % (meth, p, status))
        elif "docs" in ((op or {}).get("tags") or []) and content and all(
                resolve((c or {}).get("schema")) is not None for c in content.values()):
            pass  # the docs page and its files are HTML, scripts and styles
        elif resolve(schema) is None:
            problems.append("%s %s %s: no application/json schema" % (meth, p, status))
check(not problems, STRUCTURE[7], problems)

error = resolve({"$ref": "#/components/schemas/Error"}) or {}
enum = set(((((error.get("properties") or {}).get("error") or {}).get("properties") or {})
            .get("code") or {}).get("enum") or [])
sent = set()
for path in glob.glob(os.path.join(SRCDIR, "*.c")):
    sent |= set(re.findall(r'response_error\(\s*\w+\s*,\s*\d+\s*,\s*"(\w+)"', read(path) or ""))
# nginx's own errors: its status -> code map and the codes of its literal bodies.
nginx_text = read(NGINX) or ""
m = re.search(r"map\s+\$status\s+\$turbotech_error_code\s*\{(.*?)\}", nginx_text, re.S)
nginx_codes = set(re.findall(r"^\s*(?:\d+|default)\s+(\w+)\s*;", m.group(1), re.M)) if m else set()
nginx_codes |= set(re.findall(r'\\?"code\\?":\\?"(\w+)', nginx_text))
if not nginx_codes:
    check(False, "the error codes of %s are read" % os.path.basename(NGINX),
          ["no `map $status $turbotech_error_code { ... }` in it"])
sent |= nginx_codes
problems = ["%s is sent by the code but not in the enum" % c for c in sorted(sent - enum)]
problems += ["%s is in the enum but no code sends it" % c for c in sorted(enum - sent)]
check(enum and sent and not problems, STRUCTURE[8], problems)

finish()
PYTHON
