#!/usr/bin/env bash
# Builds a Kubernetes control plane and kubelet from Debian 12's `kubernetes` source package (upstream
# v1.20.2 with its vendor/ tree), for the Kubernetes runtime's tests (issue 21): no Kubernetes binary can
# be installed here, but the source and Debian's Go 1.19 can. The binaries are cached in a fixed directory
# keyed by the source version, so a second run (and CI, once the tests use it) only checks they are there.
#   CUTOVER_KUBE_DIR   where the binaries go (default /opt/cutover-kube/<version>)
#   arguments          which binaries to build (default: all the tests need), e.g. `kube-scheduler` alone to
#                      check a change of the build flags in a minute or two rather than eight
# GOPATH mode (GO111MODULE=off, the tree at $GOPATH/src/k8s.io/kubernetes): module mode with -mod=vendor
# fails on this tree. Static binaries (CGO_ENABLED=0), stripped (-s -w). Needs root (apt-get).
set -euo pipefail

VERSION=1.20.2
OUT="${CUTOVER_KUBE_DIR:-/opt/cutover-kube/$VERSION}"
# No kubectl: the tests talk to the API server over HTTPS (test/support/kube/kube-api.ts) or with
# @kubernetes/client-node, and building it cost CI a minute.
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet)
if [ $# -gt 0 ]; then BINARIES=("$@"); fi

have_all() {
  for binary in "${BINARIES[@]}" pause; do [ -x "$OUT/$binary" ] || return 1; done
}
if have_all; then
  echo "kubernetes $VERSION: binaries present in $OUT"
  exit 0
fi

started=$(date +%s)
# A sources file of our own, for source packages only: the system's own files are left as they are.
SOURCES=/etc/apt/sources.list.d/cutover-deb-src.sources
if [ ! -f "$SOURCES" ]; then
  cat >"$SOURCES" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
# A plain update: one limited to this file would drop the binary package lists of the others.
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go etcd-server dpkg-dev gcc libc6-dev rsync >/dev/null

WORK=$(mktemp -d /tmp/cutover-kube-build.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
apt-get source -qq kubernetes >/dev/null 2>&1
TREE=$(find "$WORK" -maxdepth 1 -type d -name 'kubernetes-*' | head -n 1)
[ -n "$TREE" ] || { echo "apt-get source kubernetes gave no tree" >&2; exit 1; }

export GOPATH="$WORK/go" GO111MODULE=off CGO_ENABLED=0 GOFLAGS=-mod=
mkdir -p "$GOPATH/src/k8s.io"
mv "$TREE" "$GOPATH/src/k8s.io/kubernetes"
cd "$GOPATH/src/k8s.io/kubernetes"
# The binaries report the version they were built from (`kubelet --version`, the API server's /version,
# the node's kubeletVersion), not v0.0.0-master: the flags upstream's hack/lib/version.sh sets, for both
# packages that hold them. The build date is the Debian source's, so a rebuild gives the same binaries.
# Debian's version says which upstream it really is: 1.20.5+really1.20.2-1.1+deb12u1 is 1.20.2.
SOURCE_VERSION=$(dpkg-parsechangelog -S Version)
UPSTREAM=${SOURCE_VERSION%-*}
UPSTREAM=${UPSTREAM##*really}
if [ "$UPSTREAM" != "$VERSION" ]; then
  echo "the kubernetes source package is $SOURCE_VERSION (upstream $UPSTREAM), not $VERSION: update VERSION" >&2
  exit 1
fi
BUILD_DATE=$(date -u -d "@$(dpkg-parsechangelog -S Timestamp)" +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS=(-s -w)
for package in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
  [ -d "${package#k8s.io/kubernetes/}" ] || continue
  LDFLAGS+=(
    -X "$package.gitVersion=v$VERSION"
    -X "$package.gitMajor=${VERSION%%.*}"
    -X "$package.gitMinor=$(echo "$VERSION" | cut -d. -f2)"
    -X "$package.gitTreeState=clean"
    -X "$package.buildDate=$BUILD_DATE"
  )
done
make generated_files >/dev/null
mkdir -p "$OUT"
for binary in "${BINARIES[@]}"; do
  [ "$binary" = pause ] && continue
  go build -ldflags "${LDFLAGS[*]}" -o "$OUT/$binary" "./cmd/$binary"
done
# The pod sandbox image's one binary: there is no registry to pull k8s.gcr.io/pause from.
gcc -Os -static -o "$OUT/pause" build/pause/linux/pause.c
echo "kubernetes $VERSION: built in $(($(date +%s) - started)) s into $OUT"
