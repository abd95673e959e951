#!/bin/sh
# The HTTP answer framing fuzz target over its corpus and mutations (TAP).
fuzz_name=http
fuzz_corpus=http
. "$(dirname "$0")/run.sh"
