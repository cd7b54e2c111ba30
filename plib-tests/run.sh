#!/usr/bin/env bash
# The PHP layer's checks: php -l on every PHP file the package ships or the tests use, then PHPUnit against the
# pm_ stand-ins and a real bridge daemon (needs `npm run build` first).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
while IFS= read -r -d '' file; do
  php -l "$file" >/dev/null || { php -l "$file"; status=1; }
done < <(find plib htdocs plib-tests -name '*.php' -print0)
(( status == 0 )) || { echo "PHP syntax errors (above)." >&2; exit 1; }
echo "php -l: every PHP file parses."
exec phpunit -c plib-tests/phpunit.xml "$@"
