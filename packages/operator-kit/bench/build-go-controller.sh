#!/usr/bin/env bash
# Builds the controller-runtime baseline of the benchmark into the cache (keyed by the hash of its
# sources) and prints the binary's path. Modules come from the Go module proxy.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
hash="$(cat "$here/go-controller/go.mod" "$here/go-controller/main.go" | sha256sum | cut -c1-12)"
out="${KEIKO_CACHE_DIR:-$HOME/.cache/keiko}/bench/go-controller-$hash"
if [[ ! -x "$out/go-controller" ]]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cp "$here/go-controller/go.mod" "$here/go-controller/main.go" "$work/"
  echo "[bench] building the controller-runtime baseline (first time only)" >&2
  (cd "$work" && go mod tidy >&2 && go build -o "$work/go-controller" . >&2)
  mkdir -p "$out"
  mv "$work/go-controller" "$out/go-controller"
fi
echo "$out/go-controller"
