#!/bin/sh
# The JSON writer's fuzz target over its corpus and mutations (TAP).
fuzz_name=write
fuzz_corpus=write
. "$(dirname "$0")/run.sh"
