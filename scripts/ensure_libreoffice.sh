#!/usr/bin/env bash
# Make sure a headless LibreOffice (`soffice --headless --convert-to pdf`) is available for the
# tests that print the finance workbook to PDF the way a spreadsheet application would: Debian's
# `libreoffice-calc-nogui` (Calc without the GUI toolkits, the smallest package that converts a
# workbook to PDF), installed when no soffice is found (SOFFICE=/path overrides the search).
exec bash "$(dirname "$0")/ensure_debian_tool.sh" libreoffice libreoffice-calc-nogui SOFFICE /usr/bin/soffice soffice libreoffice
