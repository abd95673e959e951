#!/bin/sh
# The cursor fuzz target over its corpus and mutations (TAP).
fuzz_name=cursor
fuzz_corpus=cursor
. "$(dirname "$0")/run.sh"
