#!/bin/sh
# The marshal fuzz target over its corpus and mutations (TAP).
fuzz_name=marshal
fuzz_corpus=marshal
. "$(dirname "$0")/run.sh"
