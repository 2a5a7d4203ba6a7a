#!/usr/bin/env bash
# Make sure a headless Chromium is available for tests/test_report_browser.py.
# Installs Debian's `chromium` package when no Chromium is found; does nothing otherwise.
# Needs root (or passwordless sudo) only when it has to install. Exit status 0 when Chromium is
# available at the end, 1 otherwise (with the reason on stderr).
set -euo pipefail

find_chromium() {
    local candidate
    for candidate in "${CHROMIUM:-}" /usr/bin/chromium chromium chromium-browser; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if path="$(find_chromium)"; then
    echo "chromium: $path"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: chromium is not installed and apt-get is not available; install Chromium and set CHROMIUM=/path/to/chromium" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "error: chromium is not installed and installing it needs root: run 'sudo apt-get install -y --no-install-recommends chromium'" >&2
    exit 1
fi

echo "chromium: not found, installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends chromium

if path="$(find_chromium)"; then
    echo "chromium: $path"
else
    echo "error: chromium was installed but is not on PATH" >&2
    exit 1
fi
