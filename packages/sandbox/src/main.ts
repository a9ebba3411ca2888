/**
 * `./dev run`: the whole suite on this machine. Starts the local control plane, the AWS emulator with a
 * seeded account and the node simulator, creates the examples' AWS fixtures, installs every app's CRDs
 * from its chart, runs every app as its own process (the bundled entry point its image runs, with the
 * flags its chart sets), applies the examples, and shows a live view until Ctrl-C, which stops
 * everything. It prints "all examples converged in N s" once every example is in the state it states
 * (./examples.ts).
 *
 * Flags:
 * - `--no-view`: log lines instead of the refreshing view (also when stdout is not a terminal);
 * - `--exit-when-ready`: exit 0 once every example converged, 1 on timeout or a crashed app;
 * - `--ready-timeout=<seconds>` (default 300);
 * - `--only=<app>,<app>`: start only these apps (and their examples);
 * - `--no-examples`: start the apps, apply nothing;
 * - `--state-file=<path>`: keep a JSON file with the kubeconfig, the emulator's endpoint, the
 *   processes and each example's state up to date (for tests and scripts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AwsClients } from '@keiko/aws-kit';
import { CoreResources, KubeClient, type KubeObject } from '@keiko/operator-kit';
import {
  ArgoWorkflows,
  applyManifests,
  binaryPath,
  ControlPlane,
  createTestAwsAccount,
  freePort,
  INSTANCE_ID_ANNOTATION,
  type Manifest,
  MotoServer,
  NodeSimulator,
  type TestAwsAccount,
} from '@keiko/testkit';
import { discoverApps, type SandboxApp, yamlFiles } from './apps.js';
import { crdsOf, waitEstablished } from './crds.js';
import {
  type ExampleObject,
  type ExampleState,
  exampleStates,
  objectsToCheck,
  readManifests,
} from './examples.js';
import { createAwsFixture, type FixtureGroup, isAwsFixtureFile, parseAwsFixture } from './fixtures.js';
import { nodeGroupOf } from './groups.js';
import { startPricingStandIn } from './pricing.js';
import {
  fitToHeight,
  type KindView,
  type NodeView,
  type ProcessView,
  renderExamples,
  renderKind,
  renderNodes,
  renderProcesses,
} from './view.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const value = (name: string) =>
  argv
    .find((a) => a.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=');
const liveView = !flag('no-view') && process.stdout.isTTY === true;
const exitWhenReady = flag('exit-when-ready');
const readyTimeoutMs = Number(value('ready-timeout') ?? '300') * 1000;
const only = value('only')
  ?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const withExamples = !flag('no-examples');
const stateFile = value('state-file');

const CLUSTER = 'keiko-sandbox';
const SYSTEM_NAMESPACE = 'keiko-system';
/** Argo's instanceID in the sandbox; apps that submit workflows are configured with it (their keiko.sandbox args). */
const ARGO_INSTANCE_ID = 'keiko-sandbox';

const seconds = () => Math.round(process.uptime());
const say = (m: string) => {
  if (!liveView) console.log(`[sandbox] ${String(seconds()).padStart(4)} s  ${m}`);
};

interface Running {
  app: SandboxApp;
  proc: ChildProcess;
  opsPort: number;
  logFile: string;
  exit?: number | null;
}

function writeState(state: unknown): void {
  if (!stateFile) return;
  writeFileSync(`${stateFile}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${stateFile}.tmp`, stateFile);
}

async function main(): Promise<number> {
  const workDir = mkdtempSync(join(tmpdir(), 'keiko-sandbox-'));
  const apps = discoverApps(repoRoot).filter((a) => !only || only.includes(a.name));
  if (only) {
    const unknown = only.filter((n) => !apps.some((a) => a.name === n));
    if (unknown.length) throw new Error(`--only: no app named ${unknown.join(', ')} declares keiko.sandbox`);
  }
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

    const exampleFiles = withExamples ? apps.flatMap((a) => yamlFiles(a.examplesDir)) : [];
    const fixtures = exampleFiles
      .filter(isAwsFixtureFile)
      .map((f) => parseAwsFixture(f.slice(repoRoot.length + 1), readFileSync(f, 'utf8')));

    let account: TestAwsAccount | undefined;
    let aws: AwsClients | undefined;
    let sim: NodeSimulator | undefined;
    let motoEndpoint: string | undefined;
    let pricingEndpoint: string | undefined;
    const groups: FixtureGroup[] = [];
    if (apps.some((a) => a.aws) || apps.length === 0) {
      say('starting the AWS emulator (moto) and seeding an account');
      // Managed policies loaded, so a controller can attach AmazonEKSWorkerNodePolicy & co. as on AWS.
      const moto = await MotoServer.start({ env: { MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' } });
      stops.push(() => moto.stop());
      motoEndpoint = moto.endpoint;
      // moto has no Pricing API: a stand-in answers on-demand prices (./pricing.ts).
      const pricing = await startPricingStandIn();
      stops.push(() => pricing.stop());
      pricingEndpoint = pricing.endpoint;
      account = await createTestAwsAccount({
        endpoint: moto.endpoint,
        clusterName: CLUSTER,
        region: 'us-west-2',
      });
      aws = await AwsClients.create({
        region: account.region,
        endpoint: account.endpoint,
        credentials: account.credentials,
      });
      const clients = aws;
      stops.push(async () => clients.destroy());
      sim = await NodeSimulator.start({
        kubeConfig: kc,
        endpoint: moto.endpoint,
        accountId: account.accountId,
        region: account.region,
        clusterName: CLUSTER,
        bootDelayMs: 3_000,
        onError: () => {},
      });
      const simulator = sim;
      stops.push(() => simulator.stop());
      for (const fixture of fixtures) {
        say(`creating the AWS fixtures of ${fixture.file}`);
        groups.push(...(await createAwsFixture(aws, account, fixture)));
      }
    }

    if (apps.some((a) => a.argo)) {
      say('starting Argo Workflows (workflow-controller; kwok finishes workflow pods)');
      const argo = await ArgoWorkflows.start({
        kubeconfigPath: cp.kubeconfigPath,
        instanceID: ARGO_INSTANCE_ID,
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
            ...(pricingEndpoint ? { AWS_ENDPOINT_URL_PRICING: pricingEndpoint } : {}),
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

    const applied: { file: string; manifest: Manifest }[] = [];
    for (const file of exampleFiles.filter((f) => !isAwsFixtureFile(f))) {
      const rel = file.slice(repoRoot.length + 1);
      say(`applying ${rel}`);
      const manifests = readManifests(file);
      await applyManifests(kc, manifests).then(
        () => applied.push(...manifests.map((manifest) => ({ file: rel, manifest }))),
        (err: unknown) => say(`  could not apply ${rel}: ${err instanceof Error ? err.message : err}`),
      );
    }
    const objects: ExampleObject[] = objectsToCheck(
      applied,
      new Set(crds.kinds.map((k) => `${k.apiVersion}/${k.resource.kind}`)),
    );

    const kubectl = binaryPath('kubectl');
    const intro = [
      `kubeconfig: ${cp.kubeconfigPath}   logs: ${workDir}`,
      `try:  export KUBECONFIG=${cp.kubeconfigPath}; alias kubectl=${kubectl}`,
      `      kubectl get ${crds.kinds.map((k) => k.resource.plural).join(',') || 'nodes'} -A;  kubectl get nodes -L node.kubernetes.io/role`,
      'Ctrl-C stops everything.',
    ];
    if (!liveView) for (const l of intro) say(l);

    const started = Date.now();
    let convergedAt: number | undefined;
    let convergedSeconds: number | undefined;
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
                spec?: { unschedulable?: boolean; providerID?: string };
                status?: { conditions?: { type: string; status: string }[] };
              }
            >(CoreResources.nodes)
            .catch(() => ({ items: [] }))
        ).items;
        const instanceTags = new Map(
          ((await sim?.instances().catch(() => [])) ?? []).map((i) => [i.instanceId, i.tags]),
        );
        const nodeViews: NodeView[] = nodes.map((n) => ({
          name: n.metadata.name ?? '',
          group: nodeGroupOf(n, instanceTags, INSTANCE_ID_ANNOTATION),
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
        const states: ExampleState[] = await exampleStates(
          kc,
          objects,
          groups,
          aws,
          running.filter((r) => r.app.mode === 'once').map((r) => ({ name: r.app.name, exit: r.exit })),
        );
        const converged = states.every((s) => s.ok);
        if (converged && convergedAt === undefined) {
          convergedAt = Date.now();
          convergedSeconds = seconds();
          say(
            `all examples converged in ${convergedSeconds} s (${states.length} examples; ${Math.round((convergedAt - started) / 1000)} s after they were applied)`,
          );
        }
        writeState({
          pid: process.pid,
          kubeconfig: cp.kubeconfigPath,
          awsEndpoint: motoEndpoint,
          pricingEndpoint,
          awsRegion: account?.region,
          logs: workDir,
          processes: running.map((r) => ({
            name: r.app.name,
            pid: r.proc.pid,
            opsPort: r.opsPort,
            exit: r.exit,
          })),
          examples: states,
          convergedSeconds,
        });
        if (liveView) {
          const lines = [
            `Keiko sandbox  ${new Date().toISOString().slice(11, 19)}  (${seconds()} s)  ${
              convergedSeconds === undefined
                ? `${states.filter((s) => s.ok).length}/${states.length} examples converged`
                : `all examples converged in ${convergedSeconds} s`
            }`,
            ...intro,
            '',
            ...renderProcesses(processes),
            '',
            ...renderNodes(nodeViews),
            '',
            ...renderExamples(states),
            '',
            ...views.flatMap((v) => [...renderKind(v), '']),
          ];
          const fitted = fitToHeight(lines, (process.stdout.rows ?? 50) - 1);
          process.stdout.write(`\x1b[H\x1b[2J${fitted.join('\n')}\n`);
        } else {
          const waiting = states.filter((s) => !s.ok).map((s) => `${s.name}: ${s.why}`);
          const summary = `${states.length - waiting.length}/${states.length} examples converged; nodes ${nodeViews.filter((n) => n.ready).length}/${nodeViews.length} ready; ${processes.map((p) => `${p.name}=${p.state}`).join(' ')}${waiting.length ? `\n    waiting: ${waiting.join('\n             ')}` : ''}`;
          if (summary !== lastSummary) say(summary);
          lastSummary = summary;
        }
        const crashed = processes.some((p) => p.state.startsWith('exited') && p.state !== 'exited 0');
        if (exitWhenReady) {
          if (crashed) {
            say(`an app exited: ${processes.map((p) => `${p.name}=${p.state}`).join(' ')}`);
            return finish(1);
          }
          if (converged) return finish(0);
          if (Date.now() - started > readyTimeoutMs) {
            say(`not converged after ${readyTimeoutMs / 1000} s`);
            return finish(1);
          }
        }
      };
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        tick()
          .catch((err: unknown) => say(`view: ${err instanceof Error ? err.message : err}`))
          .finally(() => {
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

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
