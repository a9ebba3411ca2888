# Pinned versions of the Go-built test binaries. testkit's TypeScript reads this file too
# (src/versions.ts parses it), so there is one source of truth. Changing a version makes the
# build script build that component again into a new cache directory.
K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.21.4
# Argo Workflows' workflow-controller (test-only, run out of cluster against the local control
# plane). v4.0.5 is the only argo-workflows version the project's Go module proxy serves (v3 and
# later v4 releases are refused); the registry notes security reports against it, which is
# acceptable for a test binary bound to loopback but is a reason to bump as soon as one is served.
ARGO_VERSION=v4.0.5
