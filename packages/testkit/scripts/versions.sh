# Pinned versions of the Go-built test binaries. testkit's TypeScript reads this file too
# (src/versions.ts parses it), so there is one source of truth. Changing a version makes the
# build script build that component again into a new cache directory.
K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.21.4
