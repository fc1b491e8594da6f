#!/bin/sh
# unbound.sh installs Debian's unbound and dnsutils (dig) for the test in
# which a real resolver obeys Tansa's RPZ feed, and prints the unbound
# binary as the last line on stdout:
#
#	TANSA_TEST_UNBOUND=$(bash .ci/unbound.sh | tail -n 1)
#
# The test writes its own configuration and starts unbound on a free
# loopback port; the package's own service is left stopped.
set -eu
if ! command -v unbound >/dev/null 2>&1 || ! command -v dig >/dev/null 2>&1 || ! command -v unbound-control >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "unbound.sh: unbound and dig are missing and installing them needs root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq unbound dnsutils >&2
	# The packaged resolver must not take port 53 for the machine.
	(systemctl stop unbound || service unbound stop) >/dev/null 2>&1 || true
fi
command -v unbound
