#!/usr/bin/env bash
# Make sure Azurite (the Azure Storage emulator) is available for tests/test_blob_azurite.py.
# Installs the pinned npm package into the project-local folder .cache/azurite (git-ignored);
# does nothing when that version is already there. Prints the path of `azurite-blob`.
# Exit status 0 when azurite-blob is available at the end, 1 otherwise (reason on stderr).
set -euo pipefail

VERSION="3.37.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.cache/azurite"
BIN="$PREFIX/node_modules/.bin/azurite-blob"
PACKAGE_JSON="$PREFIX/node_modules/azurite/package.json"

installed_version() {
    [ -f "$PACKAGE_JSON" ] || return 1
    sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$PACKAGE_JSON" | head -n 1
}

if [ -x "$BIN" ] && [ "$(installed_version || true)" = "$VERSION" ]; then
    echo "azurite-blob: $BIN"
    exit 0
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "error: Azurite needs Node.js and npm, which are not on PATH; install them (e.g. 'apt-get install nodejs npm') and re-run $0" >&2
    exit 1
fi

echo "azurite: installing azurite@$VERSION into $PREFIX"
mkdir -p "$PREFIX"
if ! npm install --prefix "$PREFIX" "azurite@$VERSION" --no-audit --no-fund >&2; then
    echo "error: 'npm install azurite@$VERSION' failed (no access to the npm registry?)" >&2
    exit 1
fi

if [ -x "$BIN" ] && [ "$(installed_version || true)" = "$VERSION" ]; then
    echo "azurite-blob: $BIN"
else
    echo "error: azurite@$VERSION was installed but $BIN is missing" >&2
    exit 1
fi
