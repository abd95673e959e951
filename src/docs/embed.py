#!/usr/bin/env python3
"""embed.py - builds the API docs for GET /api/openapi.json and GET /api/docs.

Converts openapi.yaml to JSON (the one source of truth: the served contract is
generated, never edited), takes the docs page and its script from src/docs/
and the two Swagger UI files the page needs from swagger-ui-dist (pinned in
tools/swagger-ui/package-lock.json), and writes:

  --c FILE     a C source defining docs_assets[] (see src/docs_assets.h): every
               file as bytes with its content type and a strong ETag, so the
               function serves the same bytes behind nginx and on Lambda;
  --dir DIR    the static files nginx serves under /api/docs/ (the same bytes).

  --yaml-to-json YAML   prints the JSON of YAML and exits (the tests use it).

Needs python3 and PyYAML (Debian package python3-yaml).
"""
import argparse
import hashlib
import json
import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.exit("embed.py: PyYAML is missing (Debian package python3-yaml)")

# The Swagger UI files the page loads; nothing else of the package is served.
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")
CONTENT_TYPES = {
    ".json": "application/json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as the strings they are written as."""


_Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def yaml_to_json(path):
    """The document of the YAML file as compact JSON text (UTF-8, key order kept)."""
    with open(path, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=_Loader)

    def keys_as_strings(node):
        if isinstance(node, dict):
            return {str(k): keys_as_strings(v) for k, v in node.items()}
        if isinstance(node, list):
            return [keys_as_strings(v) for v in node]
        return node

    return json.dumps(keys_as_strings(doc), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False) + "\n"


def etag(data):
    """A strong ETag: the quoted start of the SHA-256 of the bytes."""
    return '"%s"' % hashlib.sha256(data).hexdigest()[:32]


def c_string(data):
    """data as C string literal lines (octal escapes for all but plain ASCII)."""
    out, line = [], []
    width = 0
    for b in data:
        if 0x20 <= b < 0x7f and b not in (0x22, 0x5c, 0x3f):
            piece = chr(b)
        else:
            piece = "\\%03o" % b
        line.append(piece)
        width += len(piece)
        if width >= 100 or b == 0x0a:
            out.append('\t"%s"' % "".join(line))
            line, width = [], 0
    if line:
        out.append('\t"%s"' % "".join(line))
    return "\n".join(out) if out else '\t""'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--yaml", help="openapi.yaml")
    ap.add_argument("--pages", help="the directory of index.html and docs.js (src/docs)")
    ap.add_argument("--swagger-ui", help="the swagger-ui-dist package directory")
    ap.add_argument("--c", help="the C source to write")
    ap.add_argument("--dir", help="the directory of static files to write")
    ap.add_argument("--yaml-to-json", metavar="YAML")
    args = ap.parse_args()

    if args.yaml_to_json:
        sys.stdout.write(yaml_to_json(args.yaml_to_json))
        return 0
    if not (args.yaml and args.pages and args.swagger_ui and args.c and args.dir):
        ap.error("--yaml, --pages, --swagger-ui, --c and --dir are needed")
    if not os.path.isfile(os.path.join(args.swagger_ui, SWAGGER_FILES[0])):
        sys.exit("embed.py: %s has no %s: install the pinned Swagger UI with "
                 "`cd tools/swagger-ui && npm ci --ignore-scripts` (scripts/run and "
                 "scripts/test do it)" % (args.swagger_ui, SWAGGER_FILES[0]))

    files = {}  # served name -> bytes
    for name in SWAGGER_FILES:
        with open(os.path.join(args.swagger_ui, name), "rb") as f:
            data = f.read()
        if name.endswith(".js"):
            # The bundle ends with a source map comment; the map is not shipped.
            data = re.sub(rb"\n//# sourceMappingURL=[^\n]*\s*$", b"\n", data)
        if name.endswith(".css"):
            data = re.sub(rb"/\*# sourceMappingURL=[^*]*\*/\s*$", b"", data)
        files[name] = data
    with open(os.path.join(args.pages, "docs.js"), "rb") as f:
        files["docs.js"] = f.read()
    with open(os.path.join(args.pages, "index.html"), encoding="utf-8") as f:
        page = f.read()

    # The page names each file with its hash, so a release changes the URL and
    # the files can be cached for long.
    def versioned(m):
        name = m.group(1)
        if name not in files:
            sys.exit("embed.py: index.html names an unknown file %s" % name)
        return "docs/%s?v=%s" % (name, etag(files[name]).strip('"')[:12])

    page = re.sub(r"\{\{asset:([\w.-]+)\}\}", versioned, page)
    files["index.html"] = page.encode("utf-8")
    files["openapi.json"] = yaml_to_json(args.yaml).encode("utf-8")

    os.makedirs(args.dir, exist_ok=True)
    for name in SWAGGER_FILES + ("docs.js",):
        tmp = os.path.join(args.dir, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(files[name])
        os.replace(tmp, os.path.join(args.dir, name))

    parts = ["/* Generated by src/docs/embed.py from openapi.yaml, src/docs/ and",
             " * swagger-ui-dist; do not edit. */",
             '#include "docs_assets.h"', ""]
    names = sorted(files)
    for i, name in enumerate(names):
        parts.append("static const char asset_%d[] =\n%s;" % (i, c_string(files[name])))
        parts.append("")
    parts.append("const struct docs_asset docs_assets[] = {")
    for i, name in enumerate(names):
        ext = os.path.splitext(name)[1]
        parts.append('\t{ "%s", "%s", "%s", asset_%d, sizeof asset_%d - 1 },' %
                     (name, CONTENT_TYPES[ext], etag(files[name]).replace('"', '\\"'), i, i))
    parts.append("};")
    parts.append("const size_t docs_assets_count = sizeof docs_assets / sizeof docs_assets[0];")
    tmp = args.c + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("\n".join(parts) + "\n")
    os.replace(tmp, args.c)
    return 0


if __name__ == "__main__":
    sys.exit(main())
