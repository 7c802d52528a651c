#!/bin/sh
# summary.sh -- the closing line of a test run, from automake's .trs files.
# usage: summary.sh BUILDDIR [EXTRA_PASSED EXTRA_FAILED]
# Prints "N passed, N failed" (", N skipped" when some were); exits 1 if any
# test failed, or, under CI=true, if any was skipped: an unrun test proves
# nothing.
set -eu
dir=$1
cat "$dir"/tests/*.trs 2>/dev/null | awk -v xp="${2:-0}" -v xf="${3:-0}" -v ci="${CI:-}" '
/^:test-result: PASS/ || /^:test-result: XFAIL/ { p++ }
/^:test-result: FAIL/ || /^:test-result: ERROR/ || /^:test-result: XPASS/ { f++ }
/^:test-result: SKIP/ { s++ }
END {
	p += xp; f += xf;
	printf "%d passed, %d failed%s\n", p, f, s ? ", " s " skipped" : "";
	exit (f > 0 || p == 0 || (s > 0 && ci == "true")) ? 1 : 0;
}'
