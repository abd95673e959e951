#!/bin/sh
# The store-answer fuzz target over its corpus and mutations (TAP).
fuzz_name=answer
fuzz_corpus=answer
. "$(dirname "$0")/run.sh"
