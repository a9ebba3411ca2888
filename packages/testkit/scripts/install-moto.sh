#!/usr/bin/env bash
# Installs the pinned moto (the AWS emulator, a Python package) with its server extra into a
# virtualenv cached outside the repository, like build-binaries.sh does for the Go binaries.
# Idempotent: a virtualenv with a .complete marker is reused; an interrupted install is redone.
# Env: KEIKO_CACHE_DIR (default ~/.cache/keiko), KEIKO_PYTHON (default python3)
set -euo pipefail

# The pinned moto version; src/aws/moto.ts reads this line too, so there is one source of truth.
MOTO_VERSION=5.2.5

CACHE="${KEIKO_CACHE_DIR:-$HOME/.cache/keiko}"
OUT="$CACHE/moto-$MOTO_VERSION"
PYTHON="${KEIKO_PYTHON:-python3}"

log() { printf '[testkit-moto %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ -f "$OUT/.complete" ]]; then log "moto $MOTO_VERSION: cached in $OUT"; exit 0; fi
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  log "$PYTHON not found; moto needs Python >= 3.9 with the venv module"; exit 1
fi

start=$SECONDS
# A virtualenv records its absolute path, so it is built in place; only the .complete marker,
# written last, makes it count as installed.
rm -rf "$OUT"
mkdir -p "$CACHE"
log "moto $MOTO_VERSION: creating a virtualenv in $OUT"
"$PYTHON" -m venv "$OUT"
logfile="$CACHE/moto-$MOTO_VERSION.log"
# moto[server] is Flask + werkzeug; the services used by Keiko need no further extras except
# the ones moto lists per service (ec2/autoscaling/eks/ssm/s3/iam/sts are in the base package).
if ! "$OUT/bin/pip" install --disable-pip-version-check --quiet "moto[server]==$MOTO_VERSION" >"$logfile" 2>&1; then
  log "pip install failed (last lines of $logfile follow)"; tail -n 30 "$logfile" >&2; exit 1
fi
"$OUT/bin/python" -c 'import moto, moto.server; print("moto", moto.__version__)' >&2
date -u +%FT%TZ >"$OUT/.complete"
log "moto $MOTO_VERSION: done -> $OUT ($((SECONDS - start)) s)"
