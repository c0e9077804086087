#!/usr/bin/env bash
# Checks that the tools the test suite runs are installed, before any test
# starts: a missing interpreter would otherwise show up minutes later as a
# test timing out, the useful line buried in the log.
#
#   bash scripts/check-prereqs.sh go git python3 node
#
# Prints nothing and exits 0 when every named tool is there; else prints one
# line naming what to install (Debian package names) and exits 1. Known
# tools: go make git python3 node curl aws chromium. AWS_CLI and CHROMIUM
# name the aws and chromium binaries to check (default: the first on PATH).
set -uo pipefail

missing=()

# need TOOL HINT: TOOL must be on PATH.
need() {
	command -v "$1" >/dev/null 2>&1 || missing+=("$1 ($2)")
}

for tool in "$@"; do
	case "${tool}" in
	go)
		if ! command -v go >/dev/null 2>&1; then
			missing+=("go 1.26 (https://go.dev/dl/, then PATH=/usr/local/go/bin:\$PATH)")
		else
			# go1.26.8 -> 1 26; anything older than 1.26 cannot build the module.
			v="$(go env GOVERSION 2>/dev/null)"
			IFS=. read -r major minor _ <<<"${v#go}"
			if ! [[ "${major}" =~ ^[0-9]+$ && "${minor}" =~ ^[0-9]+$ ]] ||
				((major < 1 || (major == 1 && minor < 26))); then
				missing+=("go 1.26 or newer (found ${v:-unknown}: https://go.dev/dl/)")
			fi
		fi
		;;
	make | git | curl) need "${tool}" "apt-get install ${tool}" ;;
	python3) need python3 "apt-get install python3" ;;
	node) need node "apt-get install nodejs" ;;
	aws)
		# The serve tests call AWS CLI v2 (v1 cannot read event streams).
		# Like the tests: $AWS_CLI, else Debian's /usr/bin/aws, else PATH.
		aws="${AWS_CLI:-}"
		[[ -z "${aws}" && -x /usr/bin/aws ]] && aws=/usr/bin/aws
		aws="${aws:-aws}"
		if ! command -v "${aws}" >/dev/null 2>&1; then
			missing+=("aws CLI v2 (apt-get install awscli)")
		elif ! "${aws}" --version 2>&1 | grep -q '^aws-cli/2\.'; then
			missing+=("aws CLI v2 (${aws} is $("${aws}" --version 2>&1 | cut -d' ' -f1); apt-get install awscli, then AWS_CLI=/usr/bin/aws)")
		fi
		;;
	chromium) need "${CHROMIUM:-chromium}" "apt-get install chromium" ;;
	*)
		echo "check-prereqs.sh: unknown tool ${tool}" >&2
		exit 2
		;;
	esac
done

if ((${#missing[@]})); then
	list="$(printf '%s, ' "${missing[@]}")"
	echo "make test needs: ${list%, }" >&2
	exit 1
fi
