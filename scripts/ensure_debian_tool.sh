#!/usr/bin/env bash
# Make sure a command a test needs is available, installing its Debian package when it is not.
#
#   ensure_debian_tool.sh LABEL PACKAGE ENV_VAR CANDIDATE...
#
# Looks for $ENV_VAR, then each CANDIDATE (a path or a command name); when none is found,
# installs PACKAGE with apt-get (needs root, or passwordless sudo). Prints "LABEL: <path>" and
# exits 0 when the command is available at the end, else exits 1 with the reason on stderr.
# Used by ensure_chromium.sh and ensure_libreoffice.sh.
set -euo pipefail

label="$1" package="$2" env_var="$3"
shift 3
candidates=("$@")

find_tool() {
    local candidate
    for candidate in "${!env_var:-}" "${candidates[@]}"; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if path="$(find_tool)"; then
    echo "$label: $path"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: $label is not installed and apt-get is not available; install it and set $env_var=/path/to/it" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "error: $label is not installed and installing it needs root: run 'sudo apt-get install -y --no-install-recommends $package'" >&2
    exit 1
fi

echo "$label: not found, installing Debian's $package package"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends "$package"

if path="$(find_tool)"; then
    echo "$label: $path"
else
    echo "error: $label was installed but is not on PATH" >&2
    exit 1
fi
