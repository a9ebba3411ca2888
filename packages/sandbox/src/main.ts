/**
 * `./dev run`: the whole suite on this machine. Starts the local control plane, the AWS emulator with a
 * seeded account and the node simulator, installs every app's CRDs from its chart, runs every app as
 * its own process (the bundled entry point its image runs, with the flags its chart sets), applies the
 * examples, and shows a live view until Ctrl-C, which stops everything.
 *
 * Flags: `--no-view` (log lines instead of the refreshing view), `--exit-when-ready` (exit 0 once every
 * example object reports Ready, 1 on timeout: used by tests), `--ready-timeout=<seconds>` (default 300).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreResources, KubeClient, type KubeObject, type Resource } from '@keiko/operator-kit';
import {
  ArgoWorkflows,
  applyManifests,
  binaryPath,
  ControlPlane,
  createTestAwsAccount,
  freePort,
  type Manifest,
  MotoServer,
  NodeSimulator,
  parseManifests,
  type TestAwsAccount,
} from '@keiko/testkit';
import { discoverApps, type SandboxApp, yamlFiles } from './apps.js';
import {
  type KindView,
  type NodeView,
  type ProcessView,
  renderKind,
  renderNodes,
  renderProcesses,
} from './view.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const value = (name: string, dflt: string) =>
  argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const liveView = !flag('no-view') && process.stdout.isTTY === true;
const exitWhenReady = flag('exit-when-ready');
const readyTimeoutMs = Number(value('ready-timeout', '300')) * 1000;

const CLUSTER = 'keiko-sandbox';
const SYSTEM_NAMESPACE = 'keiko-system';
const NODE_GROUP_LABELS = [
  'instancemgr.keikoproj.io/instancegroup',
  'eks.amazonaws.com/nodegroup',
  'keiko.dev/node-group',
];

const say = (m: string) => {
  if (!liveView) console.log(`[sandbox] ${m}`);
};

interface Running {
  app: SandboxApp;
  proc: ChildProcess;
  opsPort: number;
  logFile: string;
  exit?: number | null;
  healthy?: boolean;
}

interface CrdInfo {
  resource: Resource;
  columns: { name: string; jsonPath: string }[];
}

function crdsOf(files: string[]): { manifests: Manifest[]; kinds: CrdInfo[] } {
  const manifests = files.flatMap((f) => parseManifests(readFileSync(f, 'utf8')));
  const kinds = manifests
    .filter((m) => m.kind === 'CustomResourceDefinition')
    .map((m) => {
      const spec = m.spec as {
        group: string;
        scope: string;
        names: { plural: string; kind: string };
        versions: {
          name: string;
          storage?: boolean;
          additionalPrinterColumns?: { name: string; jsonPath: string }[];
        }[];
      };
      const version = spec.versions.find((v) => v.storage) ?? spec.versions[0];
      return {
        resource: {
          group: spec.group,
          version: version?.name ?? 'v1',
          plural: spec.names.plural,
          kind: spec.names.kind,
          namespaced: spec.scope === 'Namespaced',
        },
        columns: (version?.additionalPrinterColumns ?? []).filter((c) => c.name.toLowerCase() !== 'age'),
      };
    });
  return { manifests, kinds };
}

function isReady(o: Record<string, unknown>): boolean {
  const conditions =
    (o.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
  return conditions.some(
    (c) => ['Ready', 'Complete', 'Completed', 'Succeeded'].includes(c.type) && c.status === 'True',
  );
}

async function main(): Promise<number> {
  const workDir = mkdtempSync(join(tmpdir(), 'keiko-sandbox-'));
  const apps = discoverApps(repoRoot);
  say(`apps: ${apps.map((a) => a.name).join(', ') || '(none yet)'}`);
  const stops: (() => Promise<unknown>)[] = [];
  const running: Running[] = [];
  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    for (const r of running) if (r.exit === undefined) r.proc.kill('SIGTERM');
    await Promise.all(
      running.map((r) => (r.exit === undefined ? new Promise((res) => r.proc.once('exit', res)) : undefined)),
    );
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };

  try {
    say('starting the control plane');
    const cp = await ControlPlane.start();
    stops.push(() => cp.stop());
    const kc = cp.kubeConfig();
    const client = await KubeClient.fromKubeConfig(kc, 'keiko-sandbox');
    stops.push(async () => client.transport.close());

    let account: TestAwsAccount | undefined;
    if (apps.some((a) => a.aws) || apps.length === 0) {
      say('starting the AWS emulator (moto) and seeding an account');
      // Managed policies loaded, so a controller can attach AmazonEKSWorkerNodePolicy & co. as on AWS.
      const moto = await MotoServer.start({ env: { MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' } });
      stops.push(() => moto.stop());
      account = await createTestAwsAccount({
        endpoint: moto.endpoint,
        clusterName: CLUSTER,
        region: 'us-west-2',
      });
      const sim = await NodeSimulator.start({
        kubeConfig: kc,
        endpoint: moto.endpoint,
        accountId: account.accountId,
        region: account.region,
        clusterName: CLUSTER,
        bootDelayMs: 3_000,
        onError: () => {},
      });
      stops.push(() => sim.stop());
    }

    if (apps.some((a) => a.argo)) {
      say('starting Argo Workflows (workflow-controller; kwok finishes workflow pods)');
      const argo = await ArgoWorkflows.start({
        kubeconfigPath: cp.kubeconfigPath,
        instanceID: 'addon-manager-workflow-controller',
      });
      stops.push(() => argo.stop());
    }

    await applyManifests(kc, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM_NAMESPACE } },
    ] as Manifest[]);
    const crds = crdsOf(apps.flatMap((a) => yamlFiles(a.crdsDir)));
    if (crds.manifests.length) {
      say(`installing ${crds.manifests.length} CRDs`);
      await applyManifests(kc, crds.manifests);
      await waitEstablished(client, crds.kinds);
    }

    for (const app of apps) {
      const opsPort = await freePort();
      const logFile = join(workDir, `${app.name}.log`);
      const log = createWriteStream(logFile);
      const proc = spawn(
        process.execPath,
        [app.entry, ...app.args, ...(app.mode === 'controller' ? [`--ops-port=${opsPort}`] : [])],
        {
          env: {
            ...process.env,
            ...(account?.env() ?? {}),
            ...app.env,
            KUBECONFIG: cp.kubeconfigPath,
            POD_NAMESPACE: SYSTEM_NAMESPACE,
            CLUSTER_NAME: CLUSTER,
            NODE_OPTIONS: '',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      proc.stdout?.pipe(log);
      proc.stderr?.pipe(log);
      const r: Running = { app, proc, opsPort, logFile };
      proc.once('exit', (code) => {
        r.exit = code;
      });
      running.push(r);
      say(`started ${app.name} (${app.mode}), log ${logFile}`);
    }

    const examples = apps.flatMap((a) => yamlFiles(a.examplesDir));
    for (const file of examples) {
      say(`applying ${file.slice(repoRoot.length + 1)}`);
      await applyManifests(kc, parseManifests(readFileSync(file, 'utf8'))).catch((err: unknown) => {
        say(`  could not apply ${file}: ${err instanceof Error ? err.message : err}`);
      });
    }

    const kubectl = binaryPath('kubectl');
    const intro = [
      `kubeconfig: ${cp.kubeconfigPath}   logs: ${workDir}`,
      `try:  export KUBECONFIG=${cp.kubeconfigPath}; alias kubectl=${kubectl}`,
      `      kubectl get ${crds.kinds.map((k) => k.resource.plural).join(',') || 'nodes'} -A;  kubectl get nodes -L ${NODE_GROUP_LABELS[0]}`,
      'Ctrl-C stops everything.',
    ];
    if (!liveView) for (const l of intro) say(l);

    const started = Date.now();
    let lastSummary = '';
    return await new Promise<number>((done) => {
      const finish = (code: number) => {
        clearInterval(timer);
        done(code);
      };
      process.once('SIGINT', () => finish(0));
      process.once('SIGTERM', () => finish(0));
      const tick = async () => {
        if (stopping) return;
        const views: KindView[] = [];
        for (const k of crds.kinds) {
          const list = await client.list<KubeObject>(k.resource).catch(() => ({ items: [] as KubeObject[] }));
          views.push({
            kind: k.resource.kind,
            plural: k.resource.plural,
            namespaced: k.resource.namespaced,
            columns: k.columns,
            objects: list.items as unknown as Record<string, unknown>[],
          });
        }
        const nodes = (
          await client
            .list<
              KubeObject & {
                spec?: { unschedulable?: boolean };
                status?: { conditions?: { type: string; status: string }[] };
              }
            >(CoreResources.nodes)
            .catch(() => ({ items: [] }))
        ).items;
        const nodeViews: NodeView[] = nodes.map((n) => ({
          name: n.metadata.name ?? '',
          group: NODE_GROUP_LABELS.map((l) => n.metadata.labels?.[l]).find(Boolean) ?? '(none)',
          ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
          unschedulable: n.spec?.unschedulable === true,
        }));
        const processes: ProcessView[] = await Promise.all(
          running.map(async (r) => {
            if (r.exit !== undefined)
              return {
                name: r.app.name,
                state: r.app.mode === 'once' && r.exit === 0 ? 'done' : `exited ${r.exit}`,
                detail: r.logFile,
              };
            if (r.app.mode === 'once') return { name: r.app.name, state: 'running' };
            const ok = await fetch(`http://127.0.0.1:${r.opsPort}/readyz`, {
              signal: AbortSignal.timeout(1_000),
            })
              .then((res) => res.ok)
              .catch(() => false);
            return { name: r.app.name, state: ok ? 'ready' : 'starting', detail: `:${r.opsPort}` };
          }),
        );
        const examplesObjects = views.flatMap((v) => v.objects);
        const ready = examplesObjects.filter(isReady).length;
        if (liveView) {
          const lines = [
            `Keiko sandbox  ${new Date().toISOString().slice(11, 19)}  (${Math.round((Date.now() - started) / 1000)} s)`,
            ...intro,
            '',
            ...renderProcesses(processes),
            '',
            ...renderNodes(nodeViews),
            '',
            ...views.flatMap((v) => [...renderKind(v), '']),
          ];
          process.stdout.write(`\x1b[H\x1b[2J${lines.join('\n')}\n`);
        } else {
          const summary = `${ready}/${examplesObjects.length} objects ready; nodes ${nodeViews.filter((n) => n.ready).length}/${nodeViews.length} ready; ${processes.map((p) => `${p.name}=${p.state}`).join(' ')}`;
          if (summary !== lastSummary) say(summary);
          lastSummary = summary;
        }
        if (exitWhenReady) {
          const crashed = processes.some((p) => p.state.startsWith('exited') && p.state !== 'exited 0');
          if (crashed) return finish(1);
          if (examplesObjects.length > 0 && ready === examplesObjects.length) return finish(0);
          if (apps.length === 0 && nodeViews.length >= 0 && Date.now() - started > 1_000) return finish(0);
          if (Date.now() - started > readyTimeoutMs) return finish(1);
        }
      };
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        tick().finally(() => {
          busy = false;
        });
      }, 2_000);
    });
  } finally {
    say('stopping everything');
    await stopAll();
    say('stopped; nothing left running');
  }
}

async function waitEstablished(client: KubeClient, kinds: CrdInfo[]): Promise<void> {
  for (const k of kinds) {
    for (let i = 0; i < 100; i++) {
      const ok = await client.listPage(k.resource, { limit: 1 }).then(
        () => true,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
