#!/usr/bin/env bash
# Provides what the tests that run a real container runtime need (kube-forensics' worker against a
# real containerd: apps/kube-forensics/test/containerd.test.ts), from package registries only:
#   containerd + containerd-shim-runc-v2 + ctr, runc   Debian's packages (apt-get install when root and
#                                                      missing; otherwise apt-get download + dpkg-deb -x
#                                                      into the cache)
#   crictl                                             built from its Go module (sigs.k8s.io/cri-tools)
#                                                      into the cache, keyed by version, like build-binaries.sh
#   busybox (static)                                   Debian's busybox-static, extracted into the cache (never
#                                                      installed on the host): the rootfs of the test images
# and writes their absolute paths to $CACHE/containerd-tools.env (KEY=value lines), which the tests read.
# Nothing here is committed. Idempotent: a second run only rewrites the env file.
#
# A machine that cannot provide them (no apt-get, no Go) gets no env file and a warning, and this
# script still exits 0 so that the rest of the setup goes on: the containerd tests then fail with
# the reason unless KEIKO_NO_CONTAINERD=1 says to skip them.
# Env: KEIKO_CACHE_DIR (default ~/.cache/keiko)
set -euo pipefail

# Pinned crictl; the tests read the version from the env file.
CRICTL_VERSION=v1.37.0

CACHE="${KEIKO_CACHE_DIR:-$HOME/.cache/keiko}"
ENV_FILE="$CACHE/containerd-tools.env"
mkdir -p "$CACHE/bin" "$CACHE/build" "$CACHE/debs"

log() { printf '[testkit-containerd %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
give_up() {
  log "$*"
  log "no $ENV_FILE: the real-containerd tests will fail unless KEIKO_NO_CONTAINERD=1"
  rm -f "$ENV_FILE"
  exit 0
}
is_root() { [[ "$(id -u)" == 0 ]]; }

apt_updated=0
apt_update_once() {
  if [[ $apt_updated == 0 ]] && is_root; then
    log "apt-get update"
    apt-get update -qq >&2 || give_up "apt-get update failed"
    apt_updated=1
  fi
}

# deb_extract PACKAGE: the package's files under $CACHE/debs/PACKAGE-VERSION/ (apt-get download + dpkg-deb -x);
# prints that directory.
deb_extract() {
  local pkg="$1" version dir
  version="$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: *//p')"
  if [[ -z "$version" || "$version" == "(none)" ]]; then
    apt_update_once
    version="$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: *//p')"
  fi
  [[ -n "$version" && "$version" != "(none)" ]] || return 1
  dir="$CACHE/debs/$pkg-${version//[:~]/_}"
  if [[ ! -f "$dir/.complete" ]]; then
    log "$pkg $version: apt-get download + dpkg-deb -x into $dir"
    rm -rf "$dir" "$dir.deb"
    mkdir -p "$dir.deb" "$dir"
    local sandbox=()
    is_root && sandbox=(-o APT::Sandbox::User=root) # root downloads into a directory _apt cannot write
    (cd "$dir.deb" && apt-get download -qq "${sandbox[@]}" "$pkg=$version" >&2) || return 1
    dpkg-deb -x "$dir.deb"/*.deb "$dir"
    rm -rf "$dir.deb"
    date -u +%FT%TZ >"$dir/.complete"
  fi
  echo "$dir"
}

command -v apt-get >/dev/null 2>&1 || give_up "apt-get not found: containerd, runc and busybox come from Debian's packages"

# containerd and runc: the host's when installed (root runs them from there), else installed (root) or extracted.
CONTAINERD="$(command -v containerd || true)"
RUNC="$(command -v runc || true)"
if [[ -z "$CONTAINERD" || -z "$RUNC" ]] && is_root; then
  apt_update_once
  log "installing Debian's containerd and runc"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd runc >&2 \
    || give_up "apt-get install containerd runc failed"
  CONTAINERD="$(command -v containerd || true)"
  RUNC="$(command -v runc || true)"
fi
if [[ -z "$CONTAINERD" ]]; then
  dir="$(deb_extract containerd)" || give_up "could not download Debian's containerd"
  CONTAINERD="$dir/usr/bin/containerd"
fi
if [[ -z "$RUNC" ]]; then
  dir="$(deb_extract runc)" || give_up "could not download Debian's runc"
  RUNC="$(ls "$dir"/usr/sbin/runc "$dir"/usr/bin/runc 2>/dev/null | head -1)"
fi
BIN_DIR="$(dirname "$CONTAINERD")"
CTR="$BIN_DIR/ctr"
SHIM="$BIN_DIR/containerd-shim-runc-v2"
for f in "$CONTAINERD" "$CTR" "$SHIM" "$RUNC"; do [[ -x "$f" ]] || give_up "$f is missing"; done

# busybox-static: only its binary is used, copied into the test images' rootfs.
dir="$(deb_extract busybox-static)" || give_up "could not download Debian's busybox-static"
BUSYBOX="$dir/bin/busybox"
[[ -x "$BUSYBOX" ]] || give_up "$BUSYBOX is missing from busybox-static"

# crictl from its Go module, with its version stamped in.
CRICTL_DIR="$CACHE/bin/crictl-$CRICTL_VERSION"
if [[ ! -f "$CRICTL_DIR/.complete" ]]; then
  command -v go >/dev/null 2>&1 || give_up "Go is not installed; crictl is built from sigs.k8s.io/cri-tools"
  log "crictl $CRICTL_VERSION: go install sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION (about a minute)"
  rm -rf "$CRICTL_DIR.tmp"; mkdir -p "$CRICTL_DIR.tmp"
  if ! env GOTOOLCHAIN=local GOFLAGS="-trimpath -buildvcs=false" CGO_ENABLED=0 GOBIN="$CRICTL_DIR.tmp" \
    go install -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" >"$CACHE/build/crictl-$CRICTL_VERSION.log" 2>&1; then
    tail -n 30 "$CACHE/build/crictl-$CRICTL_VERSION.log" >&2
    give_up "building crictl failed"
  fi
  date -u +%FT%TZ >"$CRICTL_DIR.tmp/.complete"
  rm -rf "$CRICTL_DIR"; mv "$CRICTL_DIR.tmp" "$CRICTL_DIR"
fi
CRICTL="$CRICTL_DIR/crictl"

cat >"$ENV_FILE.tmp" <<EOF
CONTAINERD=$CONTAINERD
CTR=$CTR
CONTAINERD_SHIM_RUNC_V2=$SHIM
RUNC=$RUNC
CRICTL=$CRICTL
CRICTL_VERSION=$CRICTL_VERSION
BUSYBOX=$BUSYBOX
EOF
mv "$ENV_FILE.tmp" "$ENV_FILE"
log "$("$CONTAINERD" --version | awk '{print $1, $3}'), runc $("$RUNC" --version | awk 'NR==1{print $3}'), $("$CRICTL" --version) -> $ENV_FILE"
