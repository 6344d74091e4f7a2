#!/bin/sh
# Installs the Debian packages gradviz needs to build and test, if any is missing. Run by
# `make run` and `make test`, so a fresh Debian 12 machine needs nothing else.
set -e
PKGS="build-essential pkg-config libgraphviz-dev graphviz libhpdf-dev libcjson-dev fonts-dejavu-core
      libcmocka-dev python3 python3-jsonschema poppler-utils qpdf chromium
      clang libclang-rt-14-dev valgrind"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# Node drives chromium in the HTML report's browser tests (tests/browser). Debian's nodejs and npm
# only when there is no node at all: a NodeSource nodejs already bundles npm and conflicts with
# Debian's npm package.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# gvc finds its plugins through config6a; without it: 'Layout type: "dot" not recognized'
if ! ls /usr/lib/x86_64-linux-gnu/graphviz/config6* >/dev/null 2>&1 && \
   ! ls /usr/lib/*/graphviz/config6* >/dev/null 2>&1; then
    dot -c 2>/dev/null || true
fi
# playwright-core from npm (the lock file pins it); it uses /usr/bin/chromium and never downloads
# a browser. Not fatal here: without it, tests/e2e/test_html.py fails and says why.
browser=$(dirname "$0")/browser
if [ ! -d "$browser/node_modules/playwright-core" ] && command -v npm >/dev/null 2>&1; then
    echo "setup: npm ci in tests/browser"
    (cd "$browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
        echo "setup: warning: npm ci in tests/browser failed; the browser tests will fail" >&2
fi
