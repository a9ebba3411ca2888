#!/usr/bin/env bash
# Builds the pinned control-plane binaries from their Go modules (through the Go module proxy)
# into a cache outside the repository, keyed by component and version. Only what is missing is
# built. Nothing here is ever committed. Usage: build-binaries.sh [component...]
#   components: kubernetes etcd kwok helm argo   (default: all)
# Env: KEIKO_CACHE_DIR (default ~/.cache/keiko), KEIKO_BUILD_JOBS (go build -p, default nproc)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=./versions.sh
source "$HERE/versions.sh"

CACHE="${KEIKO_CACHE_DIR:-$HOME/.cache/keiko}"
BIN_ROOT="$CACHE/bin"
WORK_ROOT="$CACHE/build"
mkdir -p "$BIN_ROOT" "$WORK_ROOT"

export GOTOOLCHAIN=local GOFLAGS="-trimpath -buildvcs=false" CGO_ENABLED=0
JOBS="${KEIKO_BUILD_JOBS:-$(nproc)}"

log() { printf '[testkit-build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "Go is not installed; the control-plane binaries are built from Go modules. Install Go >= 1.26."
  exit 1
fi

# quiet LOGFILE CMD...: runs CMD with its output in LOGFILE; prints the log's tail if it fails.
quiet() {
  local logfile="$1"; shift
  if ! "$@" >"$logfile" 2>&1; then
    log "failed: $* (last lines of $logfile follow)"; tail -n 30 "$logfile" >&2; return 1
  fi
}

# is_complete DIR: a directory is complete only when its .complete file exists, so an interrupted
# build is never mistaken for a finished one.
is_complete() { [[ -f "$1/.complete" ]]; }
finish() { date -u +%FT%TZ >"$1/.complete"; }

build_kubernetes() {
  local v="$K8S_VERSION" out="$BIN_ROOT/kubernetes-$K8S_VERSION"
  if is_complete "$out"; then log "kubernetes $v: cached in $out"; return; fi
  local minor="${v#v1.}"; minor="${minor%%.*}"
  local staging="v0.${v#v1.}"
  local mod="$WORK_ROOT/kubernetes-$v"
  rm -rf "$mod" "$out.tmp"; mkdir -p "$mod" "$out.tmp"
  log "kubernetes $v: resolving k8s.io/kubernetes go.mod (staging modules at $staging)"
  local gomod
  gomod="$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [[ -f "$gomod" ]] || { log "could not download k8s.io/kubernetes@$v go.mod"; exit 1; }
  local godebug
  godebug="$(grep -E '^godebug ' "$gomod" || true)"
  {
    echo "module keiko.local/k8s-build"
    echo
    echo "go 1.26"
    [[ -n "$godebug" ]] && echo "$godebug"
    echo
    echo "require k8s.io/kubernetes $v"
    echo
    # every staging module (replaced by ./staging/src/k8s.io/X in k8s.io/kubernetes's own go.mod)
    # is published on the proxy as v0.Y.Z; generated from the release, never hand-maintained
    grep -oE 'k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$gomod" | awk '{print $1}' | sort -u \
      | awk -v s="$staging" '{print "replace " $1 " => " $1 " " s}'
  } >"$mod/go.mod"
  log "kubernetes $v: $(grep -c '^replace' "$mod/go.mod") staging replaces; downloading modules"
  cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  quiet "$mod/download.log" bash -c "cd '$mod' && go get 'k8s.io/kubernetes@$v' && go mod tidy"
  local date; date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ld=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date -X $pkg.gitCommit=0000000000000000000000000000000000000000"
  done
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    log "kubernetes $v: building $cmd (go build -p $JOBS; the first cold build takes several minutes)"
    (cd "$mod" && go build -p "$JOBS" -ldflags "-s -w$ld" -o "$out.tmp/$cmd" "k8s.io/kubernetes/cmd/$cmd")
  done
  "$out.tmp/kube-apiserver" --version >&2
  finish "$out.tmp"; rm -rf "$out"; mv "$out.tmp" "$out"
  log "kubernetes $v: done -> $out"
}

build_etcd() {
  local v="$ETCD_VERSION" out="$BIN_ROOT/etcd-$ETCD_VERSION"
  if is_complete "$out"; then log "etcd $v: cached in $out"; return; fi
  local mod="$WORK_ROOT/etcd-$v"
  rm -rf "$mod" "$out.tmp"; mkdir -p "$mod" "$out.tmp"
  printf 'module keiko.local/etcd-build\n\ngo 1.26\n' >"$mod/go.mod"
  log "etcd $v: downloading modules"
  quiet "$mod/download.log" bash -c "cd '$mod' && go get 'go.etcd.io/etcd/server/v3@$v' 'go.etcd.io/etcd/etcdctl/v3@$v'"
  log "etcd $v: building etcd and etcdctl"
  (cd "$mod" && go build -p "$JOBS" -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3 \
    && go build -p "$JOBS" -ldflags "-s -w" -o "$out.tmp/etcdctl" go.etcd.io/etcd/etcdctl/v3)
  "$out.tmp/etcd" --version | head -1 >&2
  finish "$out.tmp"; rm -rf "$out"; mv "$out.tmp" "$out"
  log "etcd $v: done -> $out"
}

go_install_into() { # name version out pkg...
  local name="$1" v="$2" out="$3"; shift 3
  if is_complete "$out"; then log "$name $v: cached in $out"; return; fi
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  for pkg in "$@"; do
    log "$name $v: go install $pkg@$v"
    quiet "$WORK_ROOT/$name-$v.log" env GOBIN="$out.tmp" go install -ldflags "-s -w" "$pkg@$v"
  done
  finish "$out.tmp"; rm -rf "$out"; mv "$out.tmp" "$out"
  log "$name $v: done -> $out"
}

build_kwok() {
  local out="$BIN_ROOT/kwok-$KWOK_VERSION"
  go_install_into kwok "$KWOK_VERSION" "$out" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
  # kwok simulates nothing without Stage objects. Its default "fast" stages ship inside the kwok
  # module; take them from the module cache (same version as the binary) instead of copying them.
  if [[ ! -f "$out/stages/.complete" ]]; then
    local dir
    dir="$(cd "$WORK_ROOT" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
    [[ -d "$dir/kustomize/stage" ]] || { log "kwok $KWOK_VERSION: stage manifests not found in module cache"; exit 1; }
    mkdir -p "$out/stages"
    cp "$dir"/kustomize/stage/node/fast/node-initialize.yaml \
      "$dir"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      "$dir"/kustomize/stage/pod/fast/pod-*.yaml "$out/stages/"
    chmod u+w "$out"/stages/*.yaml
    finish "$out/stages"
    log "kwok $KWOK_VERSION: default stages -> $out/stages"
  fi
}
build_helm() { go_install_into helm "$HELM_VERSION" "$BIN_ROOT/helm-$HELM_VERSION" helm.sh/helm/v3/cmd/helm; }

# Argo's workflow-controller from its Go module (no replace directives in v4's go.mod, so plain
# `go install` works), plus Argo's CRD manifests taken from the same module version in the module
# cache (manifests/base/crds/{minimal,full}): no release download, one version for both.
build_argo() {
  local v="$ARGO_VERSION" out="$BIN_ROOT/argo-$ARGO_VERSION"
  local module="github.com/argoproj/argo-workflows/v4"
  go_install_into argo "$v" "$out" "$module/cmd/workflow-controller"
  if [[ ! -f "$out/crds/.complete" ]]; then
    local dir
    dir="$(cd "$WORK_ROOT" && go mod download -json "$module@$v" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
    [[ -d "$dir/manifests/base/crds/full" ]] || { log "argo $v: CRD manifests not found in module cache"; exit 1; }
    rm -rf "$out/crds"; mkdir -p "$out/crds/full" "$out/crds/minimal"
    cp "$dir"/manifests/base/crds/full/*.yaml "$out/crds/full/"
    cp "$dir"/manifests/base/crds/minimal/*.yaml "$out/crds/minimal/"
    rm -f "$out"/crds/*/kustomization.yaml
    chmod -R u+w "$out/crds"
    finish "$out/crds"
    log "argo $v: CRDs -> $out/crds"
  fi
}

components=("$@")
[[ ${#components[@]} -eq 0 ]] && components=(etcd kwok kubernetes helm argo)
start=$SECONDS
for c in "${components[@]}"; do
  case "$c" in
    kubernetes) build_kubernetes ;;
    etcd) build_etcd ;;
    kwok) build_kwok ;;
    helm) build_helm ;;
    argo) build_argo ;;
    *) log "unknown component '$c' (expected: kubernetes etcd kwok helm argo)"; exit 2 ;;
  esac
done
log "all requested binaries present in $BIN_ROOT ($((SECONDS - start)) s)"
