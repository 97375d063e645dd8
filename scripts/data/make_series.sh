#!/usr/bin/env bash
# Regenerates data/series/*.csv (not manifest.csv, README.md) byte for byte from Debian 12
# packages. Needs: apt-get install r-base-core r-cran-forecast r-cran-tseries python3-statsmodels
# Usage: scripts/data/make_series.sh [OUTDIR]     (default: data/series)
#        scripts/data/make_series.sh --check      (regenerates into a temp folder, compares)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export LC_ALL=C TZ=UTC   # English month names for elec_equip's dates; UTC stamps for taylor

expect() {  # package, version the files were made from
  local got
  got=$(dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo missing)
  [ "$got" = "$2" ] || echo "warning: $1 is $got; data/series was made with $2" >&2
}
expect r-base-core 4.2.2.20221110-2
expect r-cran-forecast 8.20-1
expect r-cran-tseries 0.10-53-1
expect python3-statsmodels 0.13.5+dfsg-7

if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  Rscript "$here/make_series.R" "$tmp"
  status=0
  for f in "$tmp"/*.csv; do
    b=$(basename "$f")
    if cmp -s "$f" "$root/data/series/$b"; then echo "same     $b"; else echo "DIFFERS  $b"; status=1; fi
  done
  exit $status
fi
Rscript "$here/make_series.R" "${1:-$root/data/series}"
