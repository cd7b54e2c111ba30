#!/usr/bin/env bash
# Quick start, second command: installs what is missing, then runs every test (unit and real-Postfix integration).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
npm test
