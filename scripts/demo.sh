#!/usr/bin/env bash
# Quick start, first command: installs what is missing, builds (the daemon and the web interface), and starts the
# daemon with a demo directory, the web interface and a loopback Postfix of its own wired to it. Ctrl-C stops
# everything; the next start finds held mail, limits and counts as they were. --reset starts over.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  '' | --reset) ;;
  *) echo "usage: scripts/demo.sh [--reset]" >&2; exit 2 ;;
esac
scripts/install-deps.sh
npm run build:ui --silent
exec node dist/scripts/demo.js "$@"
