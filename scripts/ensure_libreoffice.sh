#!/usr/bin/env bash
# Make sure a headless LibreOffice (`soffice --headless --convert-to pdf`) is available for
# tests/test_workbook_print.py, which prints the finance workbook to PDF the way a spreadsheet
# application would. Installs Debian's `libreoffice-calc-nogui` package (Calc without the GUI
# toolkits: the smallest package that converts a workbook to PDF) when no soffice is found; does
# nothing otherwise. Needs root (or passwordless sudo) only when it has to install. Exit status 0
# when soffice is available at the end, 1 otherwise (with the reason on stderr).
set -euo pipefail

find_soffice() {
    local candidate
    for candidate in "${SOFFICE:-}" /usr/bin/soffice soffice libreoffice; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if path="$(find_soffice)"; then
    echo "libreoffice: $path"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: libreoffice is not installed and apt-get is not available; install LibreOffice Calc and set SOFFICE=/path/to/soffice" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "error: libreoffice is not installed and installing it needs root: run 'sudo apt-get install -y --no-install-recommends libreoffice-calc-nogui'" >&2
    exit 1
fi

echo "libreoffice: not found, installing Debian's libreoffice-calc-nogui package"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends libreoffice-calc-nogui

if path="$(find_soffice)"; then
    echo "libreoffice: $path"
else
    echo "error: libreoffice was installed but soffice is not on PATH" >&2
    exit 1
fi
