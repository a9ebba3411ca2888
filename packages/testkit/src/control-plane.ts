/**
 * A real local Kubernetes control plane: etcd and kube-apiserver, optionally kube-controller-manager,
 * kube-scheduler and kwok, on free loopback ports, built from the pinned Go modules (no Docker).
 *
 * Guarantees: {@link ControlPlane.start} either returns a ready control plane or throws after
 * stopping everything it had started; {@link ControlPlane.stop} leaves no process and no temp
 * directory behind; a parent that dies without calling stop is cleaned up by a detached reaper.
 *
 * The kube-apiserver flags follow envtest's set (controller-runtime), plus kwokctl's speed flags.
 * Authentication is a static token file (one token per component); the serving certificate is the
 * one kube-apiserver self-signs into `--cert-dir`, whose file holds the certificate and its CA.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { binaryPath, componentDir } from './binaries.js';
import { httpsGet } from './https.js';
import { loadKubeConfig, renderKubeconfig } from './kubeconfig.js';
import { runningPodStage, terminatedContainers } from './kwok-stage.js';
import { assertPortFree, freePorts, PortInUseError } from './ports.js';
import { ManagedProcess, processExists } from './process.js';
import { REAPER_SCRIPT } from './reaper.js';
import { waitFor } from './wait.js';

export interface ControlPlaneOptions {
  /** Run kube-controller-manager (namespaces, GC, Deployments/ReplicaSets/Jobs, PDB status). Default true. */
  controllerManager?: boolean;
  /** Run kube-scheduler, so pods without `spec.nodeName` get bound. Default true. */
  scheduler?: boolean;
  /** Run kwok, which makes Nodes annotated `kwok.x-k8s.io/node=fake` Ready and runs their pods. Default true. */
  kwok?: boolean;
  /** Fixed kube-apiserver port; by default a free one is chosen. */
  apiServerPort?: number;
  /** Fixed etcd client port; by default a free one is chosen. */
  etcdPort?: number;
  /** Extra kube-apiserver flags, e.g. `--feature-gates=...`. */
  extraApiServerFlags?: string[];
  /** Progress messages (default: none). */
  log?: (message: string) => void;
  /** Milliseconds allowed for the whole start (default 120 s). */
  startTimeoutMs?: number;
}

/** The annotation kwok selects Nodes by: only Nodes carrying it are simulated. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export const KWOK_NODE_ANNOTATION_VALUE = 'fake';
/**
 * A pod whose first container has this image fails: kwok terminates its containers with exit code 1
 * (reason `Error`) and sets the pod Failed, where its default `pod-complete` stage would have
 * succeeded a Job's pod. Nothing runs in a kwok pod; this is how a test gets a real failed pod
 * (and, through kube-controller-manager's Job controller, a Job failed by `BackoffLimitExceeded`).
 */
export const KWOK_FAILING_IMAGE = 'testkit.keiko.dev/exit-1:latest';

type ComponentName =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-apiserver-2'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kwok';

export class ControlPlane {
  /** Milliseconds each component took to become ready, and `total`. */
  readonly timings: Record<string, number> = {};
  private readonly processes = new Map<ComponentName, ManagedProcess>();
  private reaperPid: number | undefined;
  private stopping: Promise<void> | undefined;
  /** Set during start: what restarting kube-apiserver (or starting a second one) needs. */
  private apiServer!: { args: string[]; port: number; caPem: string; adminToken: string; etcdUrl: string };

  private constructor(
    /** Scratch directory: certs, tokens, logs, etcd data. Removed by stop(). */
    readonly workDir: string,
    /** `https://127.0.0.1:<port>` */
    readonly server: string,
    /** Path of an admin (system:masters) kubeconfig. */
    readonly kubeconfigPath: string,
    private readonly stateFile: string,
  ) {}

  /** Starts the control plane and waits until every requested component is ready. */
  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const log = options.log ?? (() => {});
    const want = {
      controllerManager: options.controllerManager ?? true,
      scheduler: options.scheduler ?? true,
      kwok: options.kwok ?? true,
    };
    // Resolve every binary first: a missing one should fail before anything is started.
    const bins = {
      etcd: binaryPath('etcd'),
      apiserver: binaryPath('kube-apiserver'),
      kcm: want.controllerManager ? binaryPath('kube-controller-manager') : '',
      scheduler: want.scheduler ? binaryPath('kube-scheduler') : '',
      kwok: want.kwok ? binaryPath('kwok') : '',
    };
    if (options.apiServerPort) await assertPortFree(options.apiServerPort, 'kube-apiserver --secure-port');
    if (options.etcdPort) await assertPortFree(options.etcdPort, 'etcd client port');
    const [apiPort, etcdPort, etcdPeerPort, kcmPort, schedulerPort, kwokPort] = await freePorts(6);
    const port = options.apiServerPort ?? apiPort!;
    const etcdClientPort = options.etcdPort ?? etcdPort!;

    // tmpfs when available: etcd fsyncs nothing anyway (--unsafe-no-fsync), but this keeps disk I/O out.
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const workDir = mkdtempSync(join(base, 'keiko-cp-'));
    const server = `https://127.0.0.1:${port}`;
    const cp = new ControlPlane(
      workDir,
      server,
      join(workDir, 'admin.kubeconfig'),
      join(workDir, 'reaper.json'),
    );
    cp.startReaper();

    const started = Date.now();
    const deadline = started + (options.startTimeoutMs ?? 120_000);
    const remaining = () => Math.max(1_000, deadline - Date.now());
    try {
      const tokens = cp.writeAuth();
      const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;

      log(`starting etcd on ${etcdUrl}`);
      await cp.run('etcd', bins.etcd, [
        '--name=keiko',
        `--data-dir=${join(workDir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=keiko=http://127.0.0.1:${etcdPeerPort}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ]);
      await cp.waitReady('etcd', remaining(), async () => {
        const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(1_000) });
        return res.ok && ((await res.json()) as { health?: string }).health === 'true';
      });

      log(`starting kube-apiserver on ${server}`);
      const certDir = join(workDir, 'pki');
      mkdirSync(certDir);
      const apiServerArgs = [
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${port}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--authorization-mode=RBAC',
        `--token-auth-file=${join(workDir, 'tokens.csv')}`,
        `--service-account-issuer=${server}`,
        `--service-account-key-file=${join(workDir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(workDir, 'sa.key')}`,
        // Without kube-controller-manager nobody creates the `default` ServiceAccount, and pods would be rejected.
        ...(want.controllerManager ? [] : ['--disable-admission-plugins=ServiceAccount']),
        // Speed: no loopback endpoint reconciling, no request throttling (as kwokctl does).
        '--endpoint-reconciler-type=none',
        '--enable-priority-and-fairness=false',
        '--max-requests-inflight=0',
        '--max-mutating-requests-inflight=0',
        '--v=0',
        ...(options.extraApiServerFlags ?? []),
      ];
      await cp.run('kube-apiserver', bins.apiserver, apiServerArgs);
      const caFile = join(certDir, 'apiserver.crt');
      await cp.waitReady('kube-apiserver', remaining(), async () => {
        if (!existsSync(caFile)) return false;
        const res = await httpsGet(`${server}/readyz`, { ca: readFileSync(caFile), token: tokens.admin });
        return res.status === 200;
      });
      const caPem = readFileSync(caFile, 'utf8');
      cp.apiServer = { args: apiServerArgs, port, caPem, adminToken: tokens.admin, etcdUrl };
      const kubeconfigFor = (user: keyof typeof tokens, file: string) => {
        const path = join(workDir, file);
        writeFileSync(path, renderKubeconfig({ server, caPem, user, token: tokens[user] }), { mode: 0o600 });
        return path;
      };
      kubeconfigFor('admin', 'admin.kubeconfig');

      const companions: Promise<void>[] = [];
      if (want.controllerManager) {
        const kubeconfig = kubeconfigFor('system:kube-controller-manager', 'kcm.kubeconfig');
        companions.push(
          (async () => {
            await cp.run('kube-controller-manager', bins.kcm, [
              `--kubeconfig=${kubeconfig}`,
              '--leader-elect=false',
              `--secure-port=${kcmPort}`,
              '--bind-address=127.0.0.1',
              `--cert-dir=${join(workDir, 'kcm-pki')}`,
              `--service-account-private-key-file=${join(workDir, 'sa.key')}`,
              `--root-ca-file=${caFile}`,
              '--use-service-account-credentials=false',
              '--controllers=*',
              // Fast feedback in tests: GC and namespace deletion react quickly.
              '--concurrent-gc-syncs=5',
              '--v=0',
            ]);
            // Ready when healthy and its serviceaccount controller has created the `default` ServiceAccount
            // (pods are rejected by the ServiceAccount admission plugin until then).
            await cp.waitReady('kube-controller-manager', remaining(), async () => {
              const health = await httpsGet(`https://127.0.0.1:${kcmPort}/healthz`, { insecure: true });
              if (health.status !== 200) return false;
              const res = await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, {
                ca: caPem,
                token: tokens.admin,
              });
              return res.status === 200;
            });
          })(),
        );
      }
      if (want.scheduler) {
        const kubeconfig = kubeconfigFor('system:kube-scheduler', 'scheduler.kubeconfig');
        companions.push(
          (async () => {
            await cp.run('kube-scheduler', bins.scheduler, [
              `--kubeconfig=${kubeconfig}`,
              '--leader-elect=false',
              `--secure-port=${schedulerPort}`,
              '--bind-address=127.0.0.1',
              `--cert-dir=${join(workDir, 'scheduler-pki')}`,
              '--v=0',
            ]);
            await cp.waitReady('kube-scheduler', remaining(), async () => {
              const res = await httpsGet(`https://127.0.0.1:${schedulerPort}/readyz`, { insecure: true });
              return res.status === 200;
            });
          })(),
        );
      }
      if (want.kwok) {
        const kubeconfig = kubeconfigFor('system:kwok', 'kwok.kubeconfig');
        const config = cp.writeKwokConfig();
        companions.push(
          (async () => {
            await cp.run('kwok', bins.kwok, [
              `--kubeconfig=${kubeconfig}`,
              `--config=${config}`,
              `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=${KWOK_NODE_ANNOTATION_VALUE}`,
              '--node-lease-duration-seconds=40',
              '--cidr=10.244.0.0/16',
              '--node-ip=10.1.0.1',
              `--server-address=127.0.0.1:${kwokPort}`,
            ]);
            await cp.waitReady('kwok', remaining(), async () => {
              const res = await fetch(`http://127.0.0.1:${kwokPort}/healthz`, {
                signal: AbortSignal.timeout(1_000),
              });
              return res.ok;
            });
          })(),
        );
      }
      await Promise.all(companions);
      cp.timings.total = Date.now() - started;
      log(`control plane ready in ${cp.timings.total} ms`);
      return cp;
    } catch (err) {
      await cp.stop();
      throw err;
    }
  }

  /** An admin KubeConfig for @kubernetes/client-node. */
  kubeConfig(): KubeConfig {
    return loadKubeConfig(this.kubeconfigPath);
  }

  /** The pid of every component started, by name. */
  pids(): Record<string, number> {
    return Object.fromEntries([...this.processes].map(([name, p]) => [name, p.pid]));
  }

  /** Path of a component's log file. */
  logFile(name: ComponentName): string {
    return join(this.workDir, 'logs', `${name}.log`);
  }

  /** Components that have exited although nobody stopped them (a crash after start). */
  crashed(): string[] {
    if (this.stopping) return [];
    return [...this.processes].filter(([, p]) => !p.running).map(([name]) => name);
  }

  /**
   * Stops every component (dependents first, then kube-apiserver, then etcd), removes the work
   * directory and dismisses the reaper. Idempotent; concurrent calls share one stop.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const stopGroup = (names: ComponentName[]) =>
        Promise.all(names.map((n) => this.processes.get(n)?.stop()).filter(Boolean));
      await stopGroup(['kwok', 'kube-scheduler', 'kube-controller-manager']);
      await stopGroup(['kube-apiserver', 'kube-apiserver-2']);
      await stopGroup(['etcd']);
      rmSync(this.workDir, { recursive: true, force: true });
      if (this.reaperPid !== undefined) {
        try {
          process.kill(this.reaperPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    })();
    return this.stopping;
  }

  /**
   * Stops kube-apiserver only (etcd and the rest keep running): clients see the API server go away, as in
   * an API server upgrade or a network cut. {@link startApiServer} brings it back on the same port.
   */
  async stopApiServer(): Promise<void> {
    await this.processes.get('kube-apiserver')?.stop();
  }

  /** Starts kube-apiserver again with the same flags and port, and waits until it is ready. */
  async startApiServer(timeoutMs = 60_000): Promise<void> {
    if (this.processes.get('kube-apiserver')?.running) return;
    await this.run('kube-apiserver', binaryPath('kube-apiserver'), this.apiServer.args);
    await this.waitApiServerReady('kube-apiserver', this.server, timeoutMs);
  }

  /**
   * A second kube-apiserver on the same etcd (another port, same certificates and tokens): lets a test
   * change objects while the first one is down. Returns its kubeconfig path; stopped by {@link stop}
   * or {@link stopSecondApiServer}.
   */
  async startSecondApiServer(timeoutMs = 60_000): Promise<{ server: string; kubeconfigPath: string }> {
    const [port] = await freePorts(1);
    const server = `https://127.0.0.1:${port}`;
    const args = this.apiServer.args.map((a) =>
      a.startsWith('--secure-port=') ? `--secure-port=${port}` : a,
    );
    await this.run('kube-apiserver-2', binaryPath('kube-apiserver'), args);
    await this.waitApiServerReady('kube-apiserver-2', server, timeoutMs);
    const kubeconfigPath = join(this.workDir, 'admin-2.kubeconfig');
    writeFileSync(
      kubeconfigPath,
      renderKubeconfig({
        server,
        caPem: this.apiServer.caPem,
        user: 'admin',
        token: this.apiServer.adminToken,
      }),
      { mode: 0o600 },
    );
    return { server, kubeconfigPath };
  }

  async stopSecondApiServer(): Promise<void> {
    await this.processes.get('kube-apiserver-2')?.stop();
  }

  /**
   * Compacts etcd's history up to its current revision: every watch or list that resumes from an older
   * resourceVersion then gets 410 Gone from the API server. Returns the revision compacted to.
   */
  async compactEtcd(): Promise<number> {
    const status = await fetch(`${this.apiServer.etcdUrl}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
    });
    const revision = Number(((await status.json()) as { header?: { revision?: string } }).header?.revision);
    if (!Number.isFinite(revision)) throw new Error('etcd status did not report a revision');
    const res = await fetch(`${this.apiServer.etcdUrl}/v3/kv/compaction`, {
      method: 'POST',
      body: JSON.stringify({ revision: String(revision), physical: true }),
    });
    if (!res.ok) throw new Error(`etcd compaction failed: ${res.status} ${await res.text()}`);
    return revision;
  }

  private async waitApiServerReady(name: ComponentName, server: string, timeoutMs: number): Promise<void> {
    await this.waitReady(name, timeoutMs, async () => {
      const res = await httpsGet(`${server}/readyz`, {
        ca: this.apiServer.caPem,
        token: this.apiServer.adminToken,
      });
      return res.status === 200;
    });
  }

  /** True once stop() has finished and no component process exists any more (checked in /proc). */
  allProcessesGone(): boolean {
    return [...this.processes.values()].every((p) => !processExists(p.pid));
  }

  private writeAuth() {
    const token = () => randomBytes(24).toString('hex');
    const tokens = {
      admin: token(),
      'system:kube-controller-manager': token(),
      'system:kube-scheduler': token(),
      'system:kwok': token(),
    };
    // CSV: token,user,uid,"group1,group2". Every built-in identity is cluster-admin here: this is a
    // test control plane, and RBAC for our own controllers is tested with ServiceAccount tokens.
    const lines = Object.entries(tokens).map(([user, t]) => `${t},${user},${user},"system:masters"`);
    writeFileSync(join(this.workDir, 'tokens.csv'), `${lines.join('\n')}\n`, { mode: 0o600 });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    writeFileSync(join(this.workDir, 'sa.pub'), publicKey);
    writeFileSync(join(this.workDir, 'sa.key'), privateKey, { mode: 0o600 });
    mkdirSync(join(this.workDir, 'logs'));
    return tokens;
  }

  /** kwok's configuration: the default stages that ship with the pinned kwok, plus testkit's own. */
  private writeKwokConfig(): string {
    const stagesDir = join(componentDir('kwok'), 'stages');
    if (!existsSync(join(stagesDir, '.complete'))) {
      throw new Error(
        `testkit: kwok stages are missing in ${stagesDir}. Build them with: bash packages/testkit/scripts/build-binaries.sh kwok`,
      );
    }
    const docs = readdirSync(stagesDir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => readFileSync(join(stagesDir, f), 'utf8').trim())
      .map((doc) => (/^ {2}name: pod-complete$/m.test(doc) ? withoutFailingImage(doc) : doc));
    docs.push(failingPodStage());
    const path = join(this.workDir, 'kwok.yaml');
    writeFileSync(path, `${docs.join('\n---\n')}\n`);
    return path;
  }

  private startReaper(): void {
    writeFileSync(this.stateFile, JSON.stringify({ workDir: this.workDir, groups: [] }));
    const reaper = spawn(process.execPath, ['-e', REAPER_SCRIPT, String(process.pid), this.stateFile], {
      detached: true,
      stdio: 'ignore',
    });
    reaper.unref();
    this.reaperPid = reaper.pid;
  }

  private async run(name: ComponentName, command: string, args: string[]): Promise<void> {
    const p = ManagedProcess.start({ name, command, args, logFile: this.logFile(name) });
    this.processes.set(name, p);
    const groups = [...this.processes.values()].map((proc) => proc.pid);
    writeFileSync(this.stateFile, JSON.stringify({ workDir: this.workDir, groups }));
  }

  /** Waits for `probe`, failing fast (with the log tail) if the process exits meanwhile. */
  private async waitReady(name: ComponentName, timeoutMs: number, probe: () => Promise<boolean>) {
    const t0 = Date.now();
    const p = this.processes.get(name)!;
    const died = p.exited.then(() => {
      throw this.explainExit(p);
    });
    died.catch(() => {});
    await Promise.race([
      waitFor(probe, {
        description: `${name} to become ready (log: ${p.spec.logFile})`,
        timeoutMs,
        intervalMs: 50,
      }),
      died,
    ]);
    this.timings[name] = Date.now() - t0;
  }

  private explainExit(p: ManagedProcess): Error {
    const tail = p.logTail();
    const inUse = /address already in use/i.exec(tail);
    if (inUse) {
      const port = /:(\d+): bind: address already in use/.exec(tail)?.[1];
      return new PortInUseError(Number(port ?? 0), `${p.spec.name}: ${inUse[0]}`);
    }
    return p.exitError();
  }
}

/** kwok's `pod-complete` stage, not applied to pods of {@link KWOK_FAILING_IMAGE}. */
function withoutFailingImage(stage: string): string {
  const marker = '    matchExpressions:\n';
  if (!stage.includes(marker)) throw new Error('testkit: kwok pod-complete stage has no matchExpressions');
  return stage.replace(
    marker,
    `${marker}    - key: '.spec.containers.[0].image'\n      operator: 'NotIn'\n      values:\n      - '${KWOK_FAILING_IMAGE}'\n`,
  );
}

/** The stage that fails a running pod of {@link KWOK_FAILING_IMAGE} with exit code 1. */
function failingPodStage(): string {
  return runningPodStage(
    'keiko-pod-exit-1',
    [{ key: '.spec.containers.[0].image', operator: 'In', values: [KWOK_FAILING_IMAGE] }],
    `  next:
    statusTemplate: |
      {{ $now := Now }}
${terminatedContainers('1', 'Error')}      phase: Failed`,
  );
}
