#!/bin/sh
# release.sh cross-compiles the tansa binary for every platform the scanner
# ships on, into OUT (./dist by default), named as the server expects its
# platform binaries (fleet.binaries): tansa-GOOS-GOARCH[-yara][.exe].
#
#	scripts/release.sh [OUT]
#
# Every target is built with CGO_ENABLED=0. Where cgo and a C toolchain
# allow (linux/amd64 with gcc; windows/amd64 with mingw-w64), a
# YARA-enabled build is added with the yara tag: github.com/Velocidex/
# go-yara compiles the libyara sources it carries, so no libyara-dev is
# needed. A missing toolchain is reported and skipped, not fatal. VERSION (default: git describe) is stamped into the binary;
# PACKAGE_KEY, the server's package-signing public key (base64, from GET
# /api/v1/fleet/key), pins the scanner to that server's packages.
set -eu
out=${1:-dist}
mkdir -p "$out"
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
ldflags="-s -w -X main.version=$version"
if [ -n "${PACKAGE_KEY:-}" ]; then
	ldflags="$ldflags -X github.com/tansa-sec/tansa/internal/scan.packageKey=$PACKAGE_KEY"
fi
for target in windows/amd64 windows/386 linux/amd64 linux/arm64 darwin/amd64 darwin/arm64; do
	goos=${target%/*}
	goarch=${target#*/}
	ext=""
	[ "$goos" = windows ] && ext=.exe
	echo "release.sh: $target" >&2
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags" -o "$out/tansa-$goos-$goarch$ext" ./cmd/tansa
done
if command -v gcc >/dev/null 2>&1; then
	echo "release.sh: linux/amd64 with YARA" >&2
	CGO_ENABLED=1 GOOS=linux GOARCH=amd64 go build -trimpath -tags yara -ldflags "$ldflags" -o "$out/tansa-linux-amd64-yara" ./cmd/tansa
else
	echo "release.sh: skipped linux/amd64 with YARA: no C compiler (gcc)" >&2
fi
if command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
	echo "release.sh: windows/amd64 with YARA" >&2
	CC=x86_64-w64-mingw32-gcc CGO_ENABLED=1 GOOS=windows GOARCH=amd64 \
		go build -trimpath -tags yara -ldflags "$ldflags -extldflags=-static" -o "$out/tansa-windows-amd64-yara.exe" ./cmd/tansa
else
	echo "release.sh: skipped windows/amd64 with YARA: needs x86_64-w64-mingw32-gcc (apt-get install gcc-mingw-w64-x86-64)" >&2
fi
ls -l "$out" >&2
