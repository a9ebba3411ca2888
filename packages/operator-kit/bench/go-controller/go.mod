// The baseline for operator-kit's benchmark: the same controller written with controller-runtime.
// Built by bench/build-go-controller.sh into the cache (never committed, never in an image).
module keiko.local/bench-go-controller

go 1.26

require (
	k8s.io/apimachinery v0.36.3
	sigs.k8s.io/controller-runtime v0.24.1
)
