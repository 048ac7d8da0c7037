#!/usr/bin/env bash
# Installs headless Chromium for the browser end-to-end tests (Debian/Ubuntu `chromium` package;
# playwright-core drives it with executablePath /usr/bin/chromium). Idempotent: does nothing when
# a Chromium is already installed. Set CHAT_HEADSTART_CHROMIUM to use another binary instead.
set -euo pipefail

if [[ -n "${CHAT_HEADSTART_CHROMIUM:-}" ]]; then
  echo "install-browser: using CHAT_HEADSTART_CHROMIUM=${CHAT_HEADSTART_CHROMIUM}"
  exit 0
fi
if [[ -x /usr/bin/chromium ]]; then
  echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-browser: no apt-get here; install Chromium yourself and set CHAT_HEADSTART_CHROMIUM" >&2
  exit 1
fi
SUDO=""
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-browser: need root (or sudo) to apt-get install chromium" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version
