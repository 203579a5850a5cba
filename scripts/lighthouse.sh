#!/usr/bin/env bash
# Lighthouse (npm lighthouse, pinned in package.json) in Debian's Chromium over the residents'
# main pages: home, directory, a platform, an outcome and the submission form. Prints each
# page's scores and fails below accessibility 100, best practices 100 or SEO 95.
#
#   scripts/lighthouse.sh                       # starts a demo site on a scratch database
#   SITE=http://127.0.0.1:5000 scripts/lighthouse.sh   # checks a running site
#
# Needs `npm ci` (node_modules/.bin/lighthouse) and /usr/bin/chromium (`make browser-tools`).
# Reports (JSON) stay in artifacts/lighthouse/. Not part of `make test`: about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_demo_site.sh

export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
LIGHTHOUSE=node_modules/.bin/lighthouse
missing=()
[ -x "$LIGHTHOUSE" ] || missing+=("lighthouse (run: npm ci)")
[ -x "$CHROME_PATH" ] || missing+=("Chromium at $CHROME_PATH (apt-get install chromium)")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'lighthouse.sh: missing %s\n' "${missing[@]}" >&2
  exit 2
fi

demo_site_start
platform=$(first_link /platforms '/platforms/[0-9]*')
outcome=$(first_link /outcomes '/issues/[^"]*')
pages=(/ /platforms "$platform" "$outcome" /submit)
out=artifacts/lighthouse
mkdir -p "$out"

failed=0
printf '%-40s %14s %15s %5s\n' page accessibility best-practices seo
for path in "${pages[@]}"; do
  name=$(echo "${path#/}" | tr '/?=&' '____'); name=${name:-home}
  "$LIGHTHOUSE" "$SITE$path" --quiet --output=json --output-path="$out/$name.json" \
    --only-categories=accessibility,best-practices,seo \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" >/dev/null 2>"$out/$name.log" || {
      echo "$path: lighthouse failed (see $out/$name.log)"; failed=1; continue; }
  .venv/bin/python - "$out/$name.json" "$path" <<'PY' || failed=1
import json, sys
report = json.load(open(sys.argv[1]))
scores = {key: round((report["categories"][key]["score"] or 0) * 100)
          for key in ("accessibility", "best-practices", "seo")}
least = {"accessibility": 100, "best-practices": 100, "seo": 95}
print(f"{sys.argv[2]:<40} {scores['accessibility']:>14} {scores['best-practices']:>15} "
      f"{scores['seo']:>5}")
low = [key for key in least if scores[key] < least[key]]
for key in low:  # what cost the points
    for ref in report["categories"][key]["auditRefs"]:
        audit = report["audits"][ref["id"]]
        if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
            print(f"    {key}: {audit['id']}: {audit['title']}")
sys.exit(1 if low else 0)
PY
done
if [ "$failed" != 0 ]; then
  echo "Lighthouse: below accessibility 100, best practices 100 or SEO 95 (reports in $out/)"
  exit 1
fi
echo "Lighthouse: every page at accessibility 100, best practices 100, SEO ≥ 95."
