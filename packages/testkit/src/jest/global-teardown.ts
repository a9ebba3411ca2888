/**
 * jest globalTeardown: stops the shared control plane (and the AWS emulator, and Argo) started by
 * global-setup.
 */
export default async function globalTeardown(): Promise<void> {
  const argo = globalThis.__keikoArgo;
  if (argo) {
    const crashed = argo.crashed();
    await argo.stop();
    globalThis.__keikoArgo = undefined;
    if (crashed.length > 0)
      console.warn(`[testkit] these Argo processes exited during the run: ${crashed.join(', ')}`);
  }
  const moto = globalThis.__keikoMoto;
  if (moto) {
    const crashed = !moto.running;
    await moto.stop();
    globalThis.__keikoMoto = undefined;
    if (crashed)
      console.warn(`[testkit] the AWS emulator (moto) exited during the run; log was ${moto.logFile}`);
  }
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
