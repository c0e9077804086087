#!/usr/bin/env bash
# Installs the AWS Lambda Runtime Interface Emulator (aws-lambda-rie) at the
# pinned version into ${RIE_DIR:-<repo>/.work/rie}/bin/aws-lambda-rie and
# prints its path on stdout (progress goes to stderr). Idempotent: an existing
# binary is kept. The RIE is a separate binary built with `go install`, with
# its own GOPATH and module cache under RIE_DIR; nothing touches go.mod.
#
#   export STREAMSTRAP_RIE="$(bash internal/rietest/install-rie.sh)"
set -euo pipefail

RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${RIE_DIR:-${repo}/.work/rie}"
bin="${dir}/bin/aws-lambda-rie"

if [[ ! -x "${bin}" ]]; then
	echo "installing aws-lambda-rie ${RIE_VERSION} into ${dir}" >&2
	mkdir -p "${dir}/bin"
	dir="$(cd "${dir}" && pwd)"
	bin="${dir}/bin/aws-lambda-rie"
	# Build outside any module, with a private GOPATH and module cache.
	(
		cd "${dir}"
		export GOPATH="${dir}/gopath" GOMODCACHE="${dir}/gopath/pkg/mod" \
			GOBIN="${dir}/bin" GOFLAGS=-modcacherw GO111MODULE=on \
			CGO_ENABLED=0 GOWORK=off
		go install -trimpath -ldflags "-s -w" \
			"${RIE_MODULE}/cmd/aws-lambda-rie@${RIE_VERSION}" >&2
	)
	if [[ ! -x "${bin}" ]]; then
		echo "install-rie.sh: ${bin} missing after go install" >&2
		exit 1
	fi
else
	bin="$(cd "$(dirname "${bin}")" && pwd)/aws-lambda-rie"
fi
echo "${bin}"
