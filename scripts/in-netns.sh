#!/usr/bin/env bash
# Runs a command in a network namespace of its own: loopback up and nothing else, so whatever the command
# sets up (the Kubernetes test cluster's pod network: a bridge, veth pairs, routes) touches no interface of
# this machine and goes when the namespace does. Every process the command starts stays in the namespace.
#   bash scripts/in-netns.sh node --test dist/test/runtime/kubernetes/kubernetes-pod-network.test.js
# The command finds the namespace's name in CUTOVER_TEST_NETNS. Needs root (ip netns).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 command [args...]" >&2; exit 2; }
name="cutover-test-$$"
# Namespaces of runs that were killed before their trap ran: their shell is gone.
for stale in $(ip netns list 2>/dev/null | sed -n 's/^\(cutover-test-[0-9]*\).*/\1/p'); do
  kill -0 "${stale#cutover-test-}" 2>/dev/null || ip netns del "$stale" 2>/dev/null || true
done
ip netns add "$name"
trap 'ip netns del "$name" 2>/dev/null || true' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# nsenter, not `ip netns exec`: that also mounts a sysfs of the namespace's own on /sys, which hides the
# machine's cgroup mounts under /sys/fs/cgroup, and dockerd cannot start without them.
in_ns=(nsenter "--net=/run/netns/$name" --)
"${in_ns[@]}" ip link set lo up
status=0
CUTOVER_TEST_NETNS="$name" "${in_ns[@]}" "$@" || status=$?
exit "$status"
