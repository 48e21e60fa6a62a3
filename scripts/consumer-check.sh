#!/usr/bin/env bash
# Packs convex-kinde as npm would publish it and installs the tarball into a
# fresh app outside this repo, built from the README's own snippets (and the
# docs'), in the order a reader meets them: scripts/consumer-app/
# extract-snippets.mjs assembles them (a later snippet for a file continues or
# replaces it, as its fence says) over a small template (configs, and the few
# files the README says are yours). The app is checked as it stands before a
# version of a file that no check has seen is replaced, and whole at the end:
# generate its code, typecheck the backend, the auth config and documented
# shapes, and the React side under strict options; at the end, run the test
# of docs/testing.md, which syncs a user through the app's own convex/http.ts
# and its hooks. Before that, every public function of the tarball must be
# listed in the README and docs/api.md (check-api-listed.mjs).
# It catches what in-repo tests cannot: a missing file in the package, a broken
# `exports` entry, types that only resolve inside this repo, and a README
# snippet that no longer compiles, no longer works, or cannot be followed as
# printed (a redeclared name, a file replaced without saying so).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
app="$(mktemp -d -t convex-kinde-consumer-XXXXXX)"
stages="$(mktemp -d -t convex-kinde-stages-XXXXXX)"
trap 'rm -rf "$app" "$stages"' EXIT

# The assembler's own tests first: what it must refuse, in a second.
node --test --test-reporter=dot "$repo/scripts/consumer-app/"
node "$repo/scripts/consumer-app/extract-snippets.mjs" "$repo" "$stages"

[ -d "$repo/dist" ] || (cd "$repo" && npm run build)
tarball="$(cd "$repo" && npm pack --silent --pack-destination "$app")"
echo "packed $tarball"

cp -R "$repo/scripts/consumer-app/template/." "$app/"
mkdir -p "$app/scripts"
cp "$repo/scripts/offline-codegen.mjs" "$repo/scripts/consumer-app/check-api-listed.mjs" "$app/scripts/"
cd "$app"
pkg() { node -p "require('$repo/package.json').devDependencies['$1']"; }
# One install for all: each extra `npm install` costs a full resolution.
npm install --no-audit --no-fund --prefer-offline --silent \
  "./$tarball" "convex@$(pkg convex)" \
  "react@$(pkg react)" "react-dom@$(pkg react-dom)" \
  "@kinde-oss/kinde-auth-react@$(pkg @kinde-oss/kinde-auth-react)" \
  "convex-test@$(pkg convex-test)" "vitest@$(pkg vitest)" "@edge-runtime/vm@$(pkg @edge-runtime/vm)" \
  "typescript@$(pkg typescript)" "@types/node@$(pkg @types/node)" \
  "@types/react@$(pkg @types/react)" "@types/react-dom@$(pkg @types/react-dom)"

node scripts/check-api-listed.mjs "$repo"

# Each stage holds every snippet-built file as it stands then; files are only
# added or rewritten from one stage to the next, so each is copied over the last.
# Per stage, the projects holding its files (backend; auth config and documented
# shapes; React side) are checked side by side: a failing one fails the wait.
while IFS=$'\t' read -r dir why projects; do
  echo "stage $dir: $why"
  cp -R "$stages/$dir/." "$app/"
  node scripts/offline-codegen.mjs --typecheck disable >codegen.log 2>&1 || {
    cat codegen.log
    exit 1
  }
  pids=()
  for project in $projects; do
    node_modules/.bin/tsc -p "$project" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
done < <(node -e '
  for (const { dir, why, projects } of require(process.argv[1]))
    console.log([dir, why, projects.join(" ")].join("\t"));
' "$stages/stages.json")
npx vitest run
echo "consumer check passed"
