#!/bin/sh
# tests/lambda/template_check.sh - lambda/template.yaml: cfn-lint (when installed)
# and its structure against SPEC §4 (TAP, from template_check.py).
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
exec python3 "$top/tests/lambda/template_check.py" "$top/lambda/template.yaml" "$top/src"
