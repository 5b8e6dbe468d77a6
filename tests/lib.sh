# Shared helpers for the shell tests (sourced).  Each test prints one line per
# check and exits non-zero if any failed; 77 means skipped.
set -u
: "${PIPEC:=$(pwd)/pipec}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
export NO_COLOR=1
fails=0
checks=0
ok() { checks=$((checks + 1)); echo "ok - $*"; }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL - $*"; }
# expect_rc WANT DESCRIPTION CMD...: runs CMD, checks its exit status
expect_rc() {
	want=$1; what=$2; shift 2
	"$@" >/dev/null 2>&1; got=$?
	if [ "$got" -eq "$want" ]; then ok "$what (exit $got)"; else fail "$what: exit $got, wanted $want"; fi
}
# A scratch directory, removed when the test exits.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pipec-test.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
finish() {
	echo "# $checks checks, $fails failed"
	[ "$fails" -eq 0 ]
}
# killed_after SECONDS CMD...: runs CMD in the background and kills it with
# SIGKILL after SECONDS (a runtime that dies mid-run), waiting for it.
killed_after() {
	secs=$1; shift
	"$@" > /dev/null 2>&1 &
	kpid=$!
	sleep "$secs"
	kill -9 $kpid 2>/dev/null
	wait $kpid 2>/dev/null
}
# procs_under DIR: the pids of the processes whose working directory is in
# DIR (a task's processes work in its attempt's directory, whatever their
# command lines say).
procs_under() {
	d=$(cd "$1" 2>/dev/null && pwd -P) || return 0
	for p in /proc/[0-9]*; do
		c=$(readlink "$p/cwd" 2>/dev/null) || continue
		case "$c" in "$d" | "$d"/*) echo "${p#/proc/}" ;; esac
	done
}
# cgroups_left STATE: the cgroups the runtime of STATE/.pipec made and left
# (pipec-TAG-RUN-TASK-ATTEMPT, TAG a BLAKE2b-64 of the absolute .pipec), at most 3.
cgroups_left() {
	tag=$(python3 -c "import hashlib,os,sys; print(hashlib.blake2b(os.path.realpath(sys.argv[1]).encode(), digest_size=8).hexdigest())" "$1/.pipec")
	find /sys/fs/cgroup -maxdepth 4 -name "pipec-$tag-*" 2>/dev/null | head -3
}
