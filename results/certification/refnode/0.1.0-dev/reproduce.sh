#!/bin/sh
# Repeats the certification of refnode 0.1.0-dev: sskit 0.1.0-dev at commit 5d3eb92d988e18075b5379b7fdf3be9ab07b3bd8, spec version 16.
# It clones sskit into a temporary directory, checks out that commit there, builds it and runs
# the recorded certify command there, then removes the clone; your own checkout is only read.
# Paths in the node command resolve inside the clone, as they did in the certifying checkout.
#
# usage: reproduce.sh [SSKIT_REPO [OUT_DIR]]
#   SSKIT_REPO  the sskit repository, a path or URL (default: the git repository holding this script)
#   OUT_DIR     where the new certificate goes (default: ./reproduced)
# SSKIT_REPRODUCE_DRY_RUN=1 prints the build and certify commands instead of running them.
set -eu
version='0.1.0-dev'
commit='5d3eb92d988e18075b5379b7fdf3be9ab07b3bd8'
repo=${1:-${SSKIT_REPO:-}}
if [ -z "$repo" ]; then
	repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null) || {
		echo "reproduce.sh: this script is not inside a git repository; give the sskit repository (path or URL) as the first argument or SSKIT_REPO" >&2
		exit 2
	}
fi
out=${2:-${REPRODUCE_OUT:-reproduced}}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sskit-reproduce.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
echo "reproduce.sh: cloning $repo into $tmp"
git clone --quiet --no-checkout "$repo" "$tmp/sskit"
if ! git -C "$tmp/sskit" -c advice.detachedHead=false checkout --quiet --detach "$commit" 2>/dev/null; then
	echo "reproduce.sh: $repo has no commit $commit; give the sskit repository that has it as the first argument or SSKIT_REPO" >&2
	exit 2
fi
cd "$tmp/sskit"
# Only the recorded flags may decide the run, not variables sskit would otherwise read.
unset NODE_CMD NODE_IMAGE IMPL_NAME BACKEND SEED TAGS KNOWN_FAILURES CERT_DIR RESULTS
set -- certify --backend process --runs 3 --seed 831412 --parallel 2 --out "$out"
if [ "${SSKIT_REPRODUCE_DRY_RUN:-}" = 1 ]; then
	echo "reproduce.sh: dry run in $(pwd) at $(git rev-parse HEAD)"
	echo "make build"
	printf '[%s]\n' bin/sskit "$@"
	exit 0
fi
make build
bin/sskit "$@"
