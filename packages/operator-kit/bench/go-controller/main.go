// A controller-runtime controller doing exactly what bench/ts-controller.ts does: for every BenchItem in
// NAMESPACE, copy spec.value to status.observedValue with a merge patch on the status subresource.
// Objects are read from controller-runtime's cache (unstructured caching enabled), like operator-kit's.
package main

import (
	"context"
	"os"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

var gvk = schema.GroupVersionKind{Group: "bench.keiko.dev", Version: "v1", Kind: "BenchItem"}

type reconciler struct{ c client.Client }

func (r *reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	if err := r.c.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	value, _, _ := unstructured.NestedInt64(obj.Object, "spec", "value")
	observed, found, _ := unstructured.NestedInt64(obj.Object, "status", "observedValue")
	if found && observed == value {
		return ctrl.Result{}, nil
	}
	patch := []byte(`{"status":{"observedValue":` + strconv.FormatInt(value, 10) + `}}`)
	return ctrl.Result{}, r.c.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch))
}

func main() {
	workers, err := strconv.Atoi(os.Getenv("WORKERS"))
	if err != nil || workers < 1 {
		workers = 1
	}
	cfg := ctrl.GetConfigOrDie()
	// operator-kit does no client-side throttling; neither does this baseline.
	cfg.QPS = 10000
	cfg.Burst = 20000
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{os.Getenv("NAMESPACE"): {}}},
		Client:                 client.Options{Cache: &client.CacheOptions{Unstructured: true}},
	})
	if err != nil {
		panic(err)
	}
	item := &unstructured.Unstructured{}
	item.SetGroupVersionKind(gvk)
	err = ctrl.NewControllerManagedBy(mgr).
		For(item).
		Named("bench").
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(&reconciler{c: mgr.GetClient()})
	if err != nil {
		panic(err)
	}
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		panic(err)
	}
}
