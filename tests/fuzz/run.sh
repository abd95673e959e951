# run.sh - sourced by each fuzz test (fuzz_name, fuzz_corpus set): runs
# tests/fuzz/<name>_fuzz over tests/fuzz/corpus/<corpus>.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
exec "$top_builddir/tests/fuzz/${fuzz_name}_fuzz" "$top_srcdir/tests/fuzz/corpus/$fuzz_corpus"
