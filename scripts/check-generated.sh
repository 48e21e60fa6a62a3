#!/usr/bin/env bash
# Fails when the committed _generated/ folders differ from what codegen just wrote
# (changed, deleted or new files), so generated code can never drift from the source.
set -euo pipefail
paths=(src/component/_generated example/convex/_generated)
changes=$(git status --porcelain -- "${paths[@]}")
if [ -n "$changes" ]; then
  echo "Generated code is out of date. Run \`npm run codegen\` and commit the result:" >&2
  echo "$changes" >&2
  git --no-pager diff --stat -- "${paths[@]}" >&2
  exit 1
fi
echo "Generated code is in sync."
