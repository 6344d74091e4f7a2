#!/bin/sh
# Installs the Debian packages gradviz needs to build and test, if any is missing. Run by
# `make run` and `make test`, so a fresh Debian 12 machine needs nothing else.
set -e
PKGS="build-essential pkg-config libgraphviz-dev graphviz libhpdf-dev libcjson-dev fonts-dejavu-core
      libcmocka-dev python3 python3-jsonschema poppler-utils qpdf"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
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
