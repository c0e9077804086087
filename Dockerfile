# syntax=docker/dockerfile:1
#
# streamstrap container images (needs BuildKit, the default builder of current Docker).
#
#   docker buildx build --platform linux/arm64 -t streamstrap:arm64 .      # Lambda image, arm64
#   docker build --target bootstrap -o type=local,dest=out .               # just /bootstrap
#
# Stages:
#   build      Go cross-compiler on the build machine's platform ($BUILDPLATFORM),
#              producing a static bootstrap for $TARGETOS/$TARGETARCH with the
#              same flags as the Makefile (-tags lambda: no `local`).
#   bootstrap  FROM scratch, holding only /bootstrap: the stage to copy from,
#              `COPY --from=<this image or stage> /bootstrap /var/runtime/bootstrap`.
#   lambda     (final) the AWS base image for custom runtimes with the bootstrap
#              in the runtime directory and the shell examples as the function code.
#
# The final stage keeps the base image's own ENTRYPOINT, /lambda-entrypoint.sh:
# it exports its single argument (our CMD) as _HANDLER and then execs
# /var/runtime/bootstrap, under the Runtime Interface Emulator
# (/usr/local/bin/aws-lambda-rie) when AWS_LAMBDA_RUNTIME_API is unset, i.e.
# when run locally. So the same image runs in Lambda and under `docker run`.

ARG GO_VERSION=1.26
ARG BASE_IMAGE=public.ecr.aws/lambda/provided:al2023

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH
# .git is not in the build context: pass these (`make image` does).
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=1980-01-01T00:00:00Z
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY internal/ internal/
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -tags lambda -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE} -X runtime.godebugDefault=schedtrace=2147483647" \
      -o /out/bootstrap ./cmd/bootstrap

FROM scratch AS bootstrap
COPY --from=build /out/bootstrap /bootstrap
ENTRYPOINT ["/bootstrap"]

FROM ${BASE_IMAGE} AS lambda
# LAMBDA_RUNTIME_DIR=/var/runtime and LAMBDA_TASK_ROOT=/var/task come from the base image.
COPY --from=bootstrap /bootstrap ${LAMBDA_RUNTIME_DIR}/bootstrap
COPY examples/shell/ ${LAMBDA_TASK_ROOT}/
ENTRYPOINT ["/lambda-entrypoint.sh"]
# One argument: the base entrypoint makes it _HANDLER; streamstrap splits it into words.
CMD ["countdown.sh"]
