#!/usr/bin/env bash
# Installs the Debian servers the tests start for themselves (each on a free loopback port), when missing.
# `npm run test:all` and CI (.ci/run) both call this, so a fresh machine and CI install exactly the same things.
#   --check   print what is missing and exit 1 if anything is, install nothing
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }

missing=()
# prometheus: the prometheus metric provider's tests and the canary analysis against a real Prometheus.
have prometheus || missing+=(prometheus)
# postgresql: migrations, backups and the examples (each test runs its own throwaway cluster as the postgres user).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
# chromium: the dashboard's browser test (headless, driven by playwright-core).
have chromium || missing+=(chromium)
# docker.io: the Docker and Swarm runtimes' tests (each starts its own dockerd on a socket in a temp dir).
have dockerd || missing+=(docker.io)
# nginx: the nginx router's tests and the examples/stack walkthrough (each runs its own master on a temp config).
have nginx || missing+=(nginx)
# haproxy: the HAProxy router's tests (each runs its own master-worker on a temp state dir).
have haproxy || missing+=(haproxy)
# curl: the runbook's flag script is tested with the real curl.
have curl || missing+=(curl)
# pebble: the ACME tests obtain real certificates from pebble (a test CA) with pebble-challtestsrv as its DNS.
have pebble || missing+=(pebble)
# python3: test/support/pty.ts runs commands on a real terminal through python3's pty module.
have python3 || missing+=(python3)

if [ ${#missing[@]} -eq 0 ]; then
  echo "test servers: all present"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "test servers missing: ${missing[*]}"
  exit 1
fi

echo "test servers missing, installing with apt-get: ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "not root and no sudo: install these Debian packages first: ${missing[*]}" >&2
    exit 1
  fi
fi
# Installed packages must not start their services (nginx would listen on :80, dockerd on the default socket):
# every test starts its own on loopback.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
fi
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
