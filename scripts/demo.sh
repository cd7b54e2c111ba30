#!/usr/bin/env bash
# Quick start, first command: installs what is missing, builds (the daemon and the web interface), and starts the
# daemon with a demo directory, the web interface and a throwaway loopback Postfix wired to it. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
npm run build:ui --silent
exec node dist/scripts/demo.js
