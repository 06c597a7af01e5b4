#!/usr/bin/env bash
# Runs a command in a network namespace of its own: loopback up and nothing else, so whatever the command
# sets up (the Kubernetes test cluster's pod network: a bridge, veth pairs, routes) touches no interface of
# this machine and goes with the namespace, once the last process in it has exited. Every process the
# command starts stays in the namespace.
#   bash scripts/in-netns.sh node --test dist/test/runtime/kubernetes/kubernetes-pod-network.test.js
# The command finds CUTOVER_TEST_NETNS set. Needs root (unshare --net).
# unshare rather than `ip netns`: nothing to mount or to delete after, and no sysfs of the namespace's own
# mounted on /sys (`ip netns exec` does that, which hides the cgroup mounts dockerd needs).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 command [args...]" >&2; exit 2; }
export CUTOVER_TEST_NETNS="unshare-$$"
exec unshare --net -- sh -c 'ip link set lo up && exec "$@"' in-netns "$@"
