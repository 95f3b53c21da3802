#!/bin/sh
# The Debian packages the project needs beyond Python, installed when missing (root and apt-get
# needed; nothing happens when everything is there already).
#   demo: Pango and fonts (Latin, Greek, Cyrillic, Arabic; CJK), which WeasyPrint needs to write report.pdf and funder.pdf
#   test: the same, plus poppler-utils (pdftoppm renders the PDFs to PNG), chromium (opens the HTML
#         pages headless) and systemd (systemd-analyze verifies deploy/systemd/)
# Usage: sh deploy/debian-packages.sh demo|test
set -eu
want="${1:-demo}"
missing=""
need() {  # need PACKAGE PROBE...: the package is missing when the probe fails
    package="$1"; shift
    if ! "$@" >/dev/null 2>&1; then missing="$missing $package"; fi
}
has_lib() { ldconfig -p | grep -q "$1"; }
has_fonts() { [ -n "$(fc-list 2>/dev/null | head -n 1)" ]; }
has_cjk_font() { [ -n "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ] && [ -n "$(fc-list :lang=ko 2>/dev/null | head -n 1)" ]; }

need libpango-1.0-0 has_lib libpango-1.0.so.0
need libpangoft2-1.0-0 has_lib libpangoft2-1.0.so.0
need fontconfig command -v fc-list
need fonts-dejavu-core has_fonts
# Chinese, Japanese and Korean names (a coalition's member organizations) would print as empty
# boxes without a CJK font; WenQuanYi Zen Hei covers all three (Hangul too) in 7.5 MB.
need fonts-wqy-zenhei has_cjk_font
if [ "$want" = test ]; then
    need poppler-utils command -v pdftoppm
    need chromium command -v chromium
    need systemd command -v systemd-analyze
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: these Debian packages are missing:$missing. Install them (as root: apt-get install$missing)" \
         "and run the command again." >&2
    exit 1
fi
echo "Installing Debian packages:$missing"
apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
