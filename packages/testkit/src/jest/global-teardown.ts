/** jest globalTeardown: stops the shared control plane started by global-setup. */
export default async function globalTeardown(): Promise<void> {
  const cp = globalThis.__keikoControlPlane;
  if (!cp) return;
  const crashed = cp.crashed();
  await cp.stop();
  globalThis.__keikoControlPlane = undefined;
  if (crashed.length > 0) {
    // A component that died mid-run explains failures that would otherwise look random.
    console.warn(`[testkit] these control-plane components exited during the run: ${crashed.join(', ')}`);
  }
}
