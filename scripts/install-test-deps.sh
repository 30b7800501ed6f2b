#!/usr/bin/env bash
# Installs the Debian packages the test suite drives as real peers: Postfix (smtp-source, smtp-sink, a real Postfix
# for the persona and benchmark comparisons), swaks with TLS (libnet-ssleay-perl), Chromium (UI tests) and
# PostgreSQL (collector tests). Debian 12 or later, as root (or through sudo). Idempotent: installs only what is missing.
set -euo pipefail

PACKAGES=(postfix swaks libnet-ssleay-perl chromium postgresql)

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo "$0" "$@"; fi
  echo "install-test-deps: run as root (apt-get install ${PACKAGES[*]})" >&2
  exit 1
fi
command -v apt-get >/dev/null 2>&1 || { echo "install-test-deps: no apt-get: install ${PACKAGES[*]} by hand" >&2; exit 1; }

need=()
for pkg in "${PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0

export DEBIAN_FRONTEND=noninteractive
# Debian's postfix would start a daemon on port 25 and configure itself: forbid service starts while installing and
# preseed "No configuration" (the tests run their own Postfix instances in temp dirs).
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "install-test-deps: apt-get install ${need[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Remove only the policy made here: left behind it would stop every later package from starting its service.
# Postfix preseeded with "No configuration" has no main.cf and does not start.
if [ "$created_policy" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
