#!/usr/bin/env bash
# Packs convex-kinde as npm would publish it, installs the tarball into a fresh
# Convex app outside this repo that uses only the README's wiring, generates its
# code, typechecks it, and syncs a user through that app's own convex/http.ts.
# It catches what in-repo tests cannot: a missing file in the package, a broken
# `exports` entry, or types that only resolve inside this repo.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
app="$(mktemp -d -t convex-kinde-consumer-XXXXXX)"
trap 'rm -rf "$app"' EXIT

[ -d "$repo/dist" ] || (cd "$repo" && npm run build)
tarball="$(cd "$repo" && npm pack --silent --pack-destination "$app")"
echo "packed $tarball"

cp -R "$repo/scripts/consumer-app/." "$app/"
mkdir -p "$app/scripts"
cp "$repo/scripts/offline-codegen.mjs" "$app/scripts/"
cd "$app"
pkg() { node -p "require('$repo/package.json').devDependencies['$1']"; }
npm install --no-audit --no-fund --silent \
  "./$tarball" "convex@$(pkg convex)"
npm install --no-audit --no-fund --silent --save-dev \
  "convex-test@$(pkg convex-test)" "vitest@$(pkg vitest)" "@edge-runtime/vm@$(pkg @edge-runtime/vm)" \
  "typescript@$(pkg typescript)" "@types/node@$(pkg @types/node)"

node scripts/offline-codegen.mjs --typecheck disable >/dev/null
npx tsc -p convex
npx vitest run
echo "consumer check passed"
