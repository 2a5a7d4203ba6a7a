#!/usr/bin/env bash
# Make sure a headless Chromium is available for tests/test_report_browser.py: Debian's
# `chromium` package, installed when no Chromium is found (CHROMIUM=/path overrides the search).
exec bash "$(dirname "$0")/ensure_debian_tool.sh" chromium chromium CHROMIUM /usr/bin/chromium chromium chromium-browser
