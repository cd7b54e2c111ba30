#!/usr/bin/env bash
# Quick start, first command: installs what is missing, builds, and starts the daemon with a demo directory
# and a throwaway loopback Postfix wired to it. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
npm run build --silent
exec node dist/scripts/demo.js
