#!/usr/bin/env node
/**
 * `keiko-testkit up`: starts the local control plane, prints how to reach it, and keeps it running
 * until Ctrl-C (SIGINT) or SIGTERM, then stops everything it started.
 */
import { binaryPath } from './binaries.js';
import { ControlPlane } from './control-plane.js';

async function up(): Promise<number> {
  const cp = await ControlPlane.start({ log: (m) => console.log(`[testkit] ${m}`) });
  const kubectl = binaryPath('kubectl');
  console.log(`
Local Kubernetes control plane is running (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok).

  kubeconfig: ${cp.kubeconfigPath}
  API server: ${cp.server}

Use it from another terminal:

  export KUBECONFIG=${cp.kubeconfigPath}
  alias kubectl=${kubectl}
  kubectl get --raw /version
  kubectl get namespaces
  kubectl create node ... # Nodes annotated kwok.x-k8s.io/node=fake become Ready (kwok)

Press Ctrl-C to stop; everything started here is stopped and removed.
`);
  return new Promise<number>((resolve) => {
    let done = false;
    const finish = async (code: number, why: string) => {
      if (done) return;
      done = true;
      clearInterval(watch);
      console.log(`\n[testkit] ${why}; stopping the control plane`);
      await cp.stop();
      console.log('[testkit] stopped; no process left running');
      resolve(code);
    };
    process.once('SIGINT', () => void finish(0, 'interrupted'));
    process.once('SIGTERM', () => void finish(0, 'terminated'));
    const watch = setInterval(() => {
      const crashed = cp.crashed();
      if (crashed.length > 0) void finish(1, `component(s) exited unexpectedly: ${crashed.join(', ')}`);
    }, 1_000);
  });
}

const [command = 'up'] = process.argv.slice(2);
if (command !== 'up') {
  console.error(`usage: keiko-testkit up\n(unknown command '${command}')`);
  process.exit(2);
}
up().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
