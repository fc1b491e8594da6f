#!/usr/bin/env bash
# mail.sh installs Debian's postfix as a loopback-only mail server that
# delivers to a local mailbox, for the test in which Tansa's notifications
# go through a real SMTP server and are read back. It prints, as the last
# line on stdout, the SMTP address and the mailbox file:
#
#	set -- $(bash .ci/mail.sh | tail -n 1)
#	TANSA_TEST_SMTP=$1 TANSA_TEST_MAILBOX=$2 TANSA_TEST_MAIL_TO=$3 TANSA_TEST_SMTP_CA=$4
#
# Postfix listens on 127.0.0.1:2525 only (port 25 is left alone), accepts
# mail for tansa-test@localhost, and stores it in /var/mail/tansa-test
# (mbox); STARTTLS uses a certificate for 127.0.0.1 whose file is the
# fourth value. Running it again reuses the installation and restarts postfix.
set -eu
port=2525
user=tansa-test
if [ "$(id -u)" -ne 0 ]; then
	echo "mail.sh: must run as root" >&2
	exit 1
fi
if ! command -v postfix >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
	echo "postfix postfix/mailname string localhost" | debconf-set-selections
	apt-get update -qq >&2
	apt-get install -y -qq postfix >&2
fi
# A certificate for 127.0.0.1, so that STARTTLS is verified by the test
# (which trusts it through the connector's ca_pem) rather than skipped.
tls=/etc/postfix/tansa-test
if [ ! -s "$tls.crt" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=127.0.0.1" \
		-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$tls.key" -out "$tls.crt" >&2 2>/dev/null
	chmod 0600 "$tls.key"
fi
postconf -e "smtpd_tls_cert_file = $tls.crt" "smtpd_tls_key_file = $tls.key" >&2
id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
postconf -e "inet_interfaces = loopback-only" "inet_protocols = ipv4" "myhostname = localhost" \
	"mydestination = localhost, localhost.localdomain" "mynetworks = 127.0.0.0/8" \
	"relayhost =" "default_transport = error:local mail only" "smtpd_tls_security_level = may" \
	"mailbox_size_limit = 0" "alias_maps = hash:/etc/aliases" >&2
newaliases >&2 || true
# Listen on the test port as well as the default (loopback-only either way).
if ! postconf -M "$port/inet" >/dev/null 2>&1 || [ -z "$(postconf -M "$port/inet" 2>/dev/null)" ]; then
	postconf -M "$port/inet=$port inet n - y - - smtpd" >&2
fi
touch "/var/mail/$user"
chown "$user:mail" "/var/mail/$user"
chmod 0660 "/var/mail/$user"
if postfix status >/dev/null 2>&1; then
	postfix reload >&2
else
	postfix start >&2
fi
for _ in $(seq 50); do
	if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
		break
	fi
	sleep 0.2
done
echo "127.0.0.1:$port /var/mail/$user $user@localhost $tls.crt"
