#!/usr/bin/env bash
# Packs convex-kinde as npm would publish it and installs the tarball into a
# fresh app outside this repo, built from the README's own snippets (and the
# docs'): scripts/consumer-app/extract-snippets.mjs writes each one where its
# fence says, over a small template (configs, and the few files the README
# says are yours). Then it generates the app's code, typechecks the backend and
# the React side under strict options, and runs the README's test, which syncs
# a user through the app's own convex/http.ts and its hooks.
# It catches what in-repo tests cannot: a missing file in the package, a broken
# `exports` entry, types that only resolve inside this repo, and a README
# snippet that no longer compiles or no longer works.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
app="$(mktemp -d -t convex-kinde-consumer-XXXXXX)"
trap 'rm -rf "$app"' EXIT

[ -d "$repo/dist" ] || (cd "$repo" && npm run build)
tarball="$(cd "$repo" && npm pack --silent --pack-destination "$app")"
echo "packed $tarball"

cp -R "$repo/scripts/consumer-app/template/." "$app/"
node "$repo/scripts/consumer-app/extract-snippets.mjs" "$repo" "$app"
mkdir -p "$app/scripts"
cp "$repo/scripts/offline-codegen.mjs" "$app/scripts/"
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

node scripts/offline-codegen.mjs --typecheck disable >/dev/null
# Three independent programs (backend; auth configs and documented shapes;
# React side), checked side by side: a failing one fails the wait.
pids=()
for project in convex tsconfig.json src; do
  node_modules/.bin/tsc -p "$project" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
npx vitest run
echo "consumer check passed"
