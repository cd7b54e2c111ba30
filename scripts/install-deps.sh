#!/usr/bin/env bash
# Installs what Outgoing Mail Limits needs on Debian 12, skipping what is already there.
#   scripts/install-deps.sh           Postfix, swaks and SASL tools for the throwaway test instance, chromium for the
#                                     UI's browser tests, PHP (CLI, cURL, PHPUnit) for the Plesk layer's tests,
#                                     zip/unzip for the package, redis-server and redis-sentinel for the cluster
#                                     tests (each test starts its own), npm packages
#   scripts/install-deps.sh --bench   the same plus the benchmark peers (postfwd, policyd-rate-limit)
# Never touches the machine's own Postfix configuration: tests and the demo run their own instance.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(postfix swaks sasl2-bin libsasl2-modules chromium php-cli php-curl phpunit zip unzip redis-server redis-sentinel)
[[ "${1:-}" == "--bench" ]] && packages+=(postfwd policyd-rate-limit)

if ! command -v node >/dev/null || (( $(node -p 'process.versions.node.split(".")[0]') < 20 )); then
  echo "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "Install it from your distribution or nodesource, then run this again." >&2
  exit 1
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if (( ${#missing[@]} > 0 )); then
  if (( EUID != 0 )); then
    echo "Missing Debian packages: ${missing[*]}. Run this as root (or with sudo) to install them." >&2
    exit 1
  fi
  echo "Installing Debian packages: ${missing[*]}"
  # "Local only" keeps the package from asking questions; the system instance is not used by us.
  echo 'postfix postfix/main_mailer_type select Local only' | debconf-set-selections
  echo "postfix postfix/mailname string $(hostname -f 2>/dev/null || hostname)" | debconf-set-selections
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# The Redis packages enable system services of their own. Tests start throwaway servers on their own sockets and
# ports, and a cluster's Redis is the admin's choice: a service installed just now is stopped and disabled (one
# that was there before is left as it was).
for service in redis-server redis-sentinel; do
  [[ " ${missing[*]} " == *" $service "* ]] || continue
  if command -v systemctl >/dev/null && systemctl is-enabled --quiet "$service" 2>/dev/null; then
    systemctl disable --now --quiet "$service" || echo "Could not stop the $service service; the tests do not use it." >&2
  fi
done

# npm ci only when the installed tree is older than the lock file.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  # The browser tests drive Debian's chromium: Playwright must never download one of its own.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi
