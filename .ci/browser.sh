#!/bin/sh
# browser.sh makes sure Chromium is installed for the web console's
# real-browser test (internal/web/browser_test.go) on a Debian machine, as
# root. It installs the chromium package only when /usr/bin/chromium is
# missing, and a Japanese font only when there is none, so running it again
# changes nothing.
#
#	bash .ci/browser.sh && TANSA_TEST_BROWSER=1 go test -run Browser ./internal/web/
set -eu

# Without a Japanese font, screenshots of the Japanese console (the test's
# failure screenshots and its artifacts) show empty boxes instead of text.
need=""
[ -x /usr/bin/chromium ] || need="chromium"
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=ja 2>/dev/null)" ]; then
	need="$need fonts-noto-cjk"
fi
if [ -z "$need" ]; then
	echo "browser.sh: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed" >&2
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "browser.sh: installing $need needs root" >&2
	exit 1
fi
echo "browser.sh: installing $need" >&2
export DEBIAN_FRONTEND=noninteractive
# stdin from /dev/null: apt must never wait for an answer in CI.
timeout 600 apt-get update -qq </dev/null >&2
# shellcheck disable=SC2086 # $need is a list of package names
timeout 900 apt-get install -y -qq $need </dev/null >&2
if [ ! -x /usr/bin/chromium ]; then
	echo "browser.sh: the chromium package did not provide /usr/bin/chromium" >&2
	exit 1
fi
echo "browser.sh: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) installed" >&2
