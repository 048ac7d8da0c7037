#!/usr/bin/env bash
# The listener benchmark drives load with wrk (a C client: a JS client saturates its core first).
set -euo pipefail
if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk not found: installing it with apt-get" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null
fi
command -v wrk >/dev/null && command -v taskset >/dev/null || { echo "need wrk and taskset (util-linux)" >&2; exit 1; }
