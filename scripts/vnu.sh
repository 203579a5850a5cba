#!/usr/bin/env bash
# The Nu HTML Checker (npm vnu-jar, pinned in package.json) over the residents' pages, in
# Chinese: fails on any error (warnings are printed, not counted).
#
#   scripts/vnu.sh                                  # starts a demo site on a scratch database
#   SITE=http://127.0.0.1:5000 scripts/vnu.sh       # checks a running site
#
# Needs `npm ci` (node_modules/vnu-jar) and Java 11+ (Debian: default-jre-headless, installed
# here when run as root with apt-get). Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_demo_site.sh

VNU=node_modules/vnu-jar/build/dist/vnu.jar
if ! command -v java >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless
  else
    echo "vnu.sh: Java missing (Debian: apt-get install default-jre-headless)" >&2
    exit 2
  fi
fi
if [ ! -f "$VNU" ]; then
  echo "vnu.sh: $VNU missing (run: npm ci)" >&2
  exit 2
fi

demo_site_start
platform=$(first_link /platforms '/platforms/[0-9]*')
event=$(first_link '/events?when=past' '/events/[0-9]*')
outcome=$(first_link /outcomes '/issues/[^"]*')
pages=(/ /platforms "/platforms?q=%E7%99%BE%E6%AD%A5" "$platform" /events "/events?when=past"
       "$event" /outcomes "/outcomes?q=%E7%94%B5%E6%A2%AF" "$outcome" /submit /track /privacy
       /about /feeds /login /reports)
# The checker refuses to fetch private addresses (127.0.0.1): pages are saved, then checked.
saved=$(mktemp -d "${TMPDIR:-/tmp}/consult-hub-vnu.XXXXXX")
trap 'rm -rf "$saved"; demo_site_stop' EXIT
n=0
for path in "${pages[@]}" /this-page-does-not-exist; do
  [ -n "$path" ] || continue
  n=$((n + 1))
  file="$saved/$(printf '%02d' $n)$(echo "$path" | tr -c 'a-zA-Z0-9\n' '_' | cut -c1-60).html"
  curl -sS -o "$file" "$SITE$path"
done
echo "Checking $n pages of $SITE with the Nu HTML Checker…"
if java -jar "$VNU" --format gnu "$saved"/*.html; then
  echo "Nu HTML Checker: no errors."
else
  echo "Nu HTML Checker: errors above."
  exit 1
fi
