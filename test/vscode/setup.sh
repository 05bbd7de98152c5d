#!/usr/bin/env bash
# Installs the real-VS-Code test rig outside the project's own dependencies, idempotently:
# Debian chromium (+ libkrb5-dev for code-server's kerberos build, fonts for readable screenshots),
# then code-server 4.100.3 (VS Code 1.100.3, the newest that runs on Node 20) and playwright-core
# into a tools folder with its own package.json. Re-running it when all is in place costs ~1 s.
set -euo pipefail
RIG=${PORTHOLE_VSCODE_RIG:-${XDG_CACHE_HOME:-$HOME/.cache}/porthole/vscode-rig}
CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_VERSION=1.65.1
RIPGREP_PACKAGE_VERSION=1.18.0

node -e "require(process.argv[1]).ensureDebianPackages(['chromium', 'libkrb5-dev', 'fonts-liberation'], { 'libkrb5-dev': 'dpkg', 'fonts-liberation': 'dpkg' })" "$(cd "$(dirname "$0")/.." && pwd)/debian.cjs"

installed() { node -p "require('$RIG/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(installed code-server)" = "$CODE_SERVER_VERSION" ] && [ "$(installed playwright-core)" = "$PLAYWRIGHT_VERSION" ]; then
  echo "vscode-rig: code-server $CODE_SERVER_VERSION and playwright-core $PLAYWRIGHT_VERSION already in $RIG"
  exit 0
fi

mkdir -p "$RIG"
# @vscode/ripgrep 1.15.11 (pinned inside code-server) downloads rg from GitHub in its postinstall,
# unless $TMPDIR/vscode-ripgrep-cache-1.15.11/ already holds the archive: seed it from the npm
# platform package, which ships the same binary.
RG_CACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
RG_ARCHIVE="$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$RG_ARCHIVE" ]; then
  mkdir -p "$RG_CACHE" "$RIG/rg"
  (cd "$RIG/rg" && npm pack -q "@vscode/ripgrep-linux-x64@$RIPGREP_PACKAGE_VERSION" >/dev/null \
    && tar xzf "vscode-ripgrep-linux-x64-$RIPGREP_PACKAGE_VERSION.tgz")
  tar czf "$RG_ARCHIVE" -C "$RIG/rg/package/bin" rg
fi

cd "$RIG"
[ -f package.json ] || echo '{"name":"porthole-vscode-rig","private":true}' > package.json
echo "vscode-rig: npm install code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_VERSION into $RIG"
# yes: node-pty's postinstall runs `npx node-gyp`; unsafe_perm: code-server's postinstall refuses root otherwise.
npm_config_yes=true npm_config_unsafe_perm=true npm install --no-audit --no-fund --loglevel=error \
  "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_VERSION"
echo "vscode-rig: ready (code-server $(installed code-server), playwright-core $(installed playwright-core))"
