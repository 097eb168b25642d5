#!/bin/sh
# Short libFuzzer run of every harness in build-fuzz/fuzz/, seeded from its
# stored corpus; a crash fails. FUZZ_SECONDS (default 20) per harness.
set -u
secs=${FUZZ_SECONDS:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
status=0
for f in "$top"/build-fuzz/fuzz/*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	work=$(mktemp -d)
	[ -d "$top/tests/fuzz/corpus/$name" ] && cp -R "$top/tests/fuzz/corpus/$name/." "$work/"
	if (cd "$top/tests" && "$f" -max_total_time="$secs" -rss_limit_mb=2048 \
			-artifact_prefix="$work/" "$work" >"$work.log" 2>&1); then
		echo "fuzz $name: ok ($secs s)"
	else
		echo "fuzz $name: FAILED, see $work.log"; tail -n 30 "$work.log"; status=1
	fi
done
exit $status
