#!/bin/sh
# The router fuzz target over its corpus and mutations (TAP).
fuzz_name=router
fuzz_corpus=body
. "$(dirname "$0")/run.sh"
