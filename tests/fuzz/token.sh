#!/bin/sh
# The token fuzz target over its corpus and mutations (TAP).
fuzz_name=token
fuzz_corpus=token
. "$(dirname "$0")/run.sh"
