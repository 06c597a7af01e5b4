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
# python3: test/support/pty.ts runs commands on a real terminal through python3's pty module (and the
# Kubernetes test cluster's runc wrapper is a python3 script).
have python3 || missing+=(python3)
# etcd-server: the Kubernetes test cluster's store (test/support/kube-cluster.ts).
have etcd || missing+=(etcd-server)
# containernetworking-plugins: the Kubernetes test cluster's pod network (bridge, host-local, loopback), in
# a network namespace the Kubernetes phase creates for itself (scripts/in-netns.sh); iproute2 sets it up inside.
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
have ip || missing+=(iproute2)

# The Kubernetes test cluster's binaries, built from Debian's source (scripts/build-kubernetes.sh): ~9 min
# on two cores the first time, then cached in /opt/cutover-kube/<version> and only checked.
KUBE_DIR="${CUTOVER_KUBE_DIR:-/opt/cutover-kube/1.20.2}"
kube_built=true
for binary in kube-apiserver kube-controller-manager kube-scheduler kubelet pause; do
  [ -x "$KUBE_DIR/$binary" ] || kube_built=false
done

if [ ${#missing[@]} -eq 0 ] && $kube_built; then
  echo "test servers: all present"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  $kube_built || missing+=("kubernetes binaries in $KUBE_DIR (bash scripts/build-kubernetes.sh)")
  echo "test servers missing: ${missing[*]}"
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "not root and no sudo: install these first: ${missing[*]:-} $($kube_built || echo "(and run scripts/build-kubernetes.sh)")" >&2
    exit 1
  fi
fi
build_kubernetes() {
  $kube_built && return 0
  echo "kubernetes test cluster binaries missing in $KUBE_DIR: building them (scripts/build-kubernetes.sh)"
  # sudo drops the environment: the binaries' directory is passed on explicitly.
  "${sudo[@]}" env CUTOVER_KUBE_DIR="$KUBE_DIR" bash "$(dirname "$0")/build-kubernetes.sh"
}
if [ ${#missing[@]} -eq 0 ]; then
  build_kubernetes
  exit 0
fi
echo "test servers missing, installing with apt-get: ${missing[*]}"
# Installed packages must not start their services (nginx would listen on :80, dockerd on the default socket):
# every test starts its own on loopback.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
fi
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
build_kubernetes
