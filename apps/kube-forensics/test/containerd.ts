/**
 * A real containerd for the worker tests, started and stopped by the test: Debian's containerd and
 * runc, crictl built from its Go module, and images built here from Debian's static busybox, with no
 * registry. The tools come from packages/testkit/scripts/install-containerd.sh (run by `./dev setup`),
 * which writes their paths to `$KEIKO_CACHE_DIR/containerd-tools.env`.
 *
 * Everything lives under one temp dir (root, state, socket, runc state, pod logs): containerd's CRI
 * plugin with the overlayfs snapshotter, a locally built pause-like sandbox image, host-network pod
 * sandboxes (so no CNI). The only thing outside it is containerd's hard-coded shim socket directory
 * `/run/containerd/s`, removed again when the test created it and it is empty.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ContainerdTools {
  containerd: string;
  ctr: string;
  runc: string;
  crictl: string;
  crictlVersion: string;
  busybox: string;
}

export const TOOLS_ENV_FILE = join(
  process.env.KEIKO_CACHE_DIR ?? join(homedir(), '.cache/keiko'),
  'containerd-tools.env',
);

/** The tools install-containerd.sh provided; throws saying why when this machine has none. */
export function containerdTools(): ContainerdTools {
  if (process.getuid?.() !== 0) {
    throw new Error(`containerd needs root (uid ${process.getuid?.()}); set KEIKO_NO_CONTAINERD=1 to skip`);
  }
  if (!existsSync(TOOLS_ENV_FILE)) {
    throw new Error(
      `${TOOLS_ENV_FILE} is missing: run packages/testkit/scripts/install-containerd.sh (part of ./dev setup), or set KEIKO_NO_CONTAINERD=1 to skip`,
    );
  }
  const env = Object.fromEntries(
    readFileSync(TOOLS_ENV_FILE, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const tools = {
    containerd: env.CONTAINERD ?? '',
    ctr: env.CTR ?? '',
    runc: env.RUNC ?? '',
    crictl: env.CRICTL ?? '',
    crictlVersion: env.CRICTL_VERSION ?? '',
    busybox: env.BUSYBOX ?? '',
  };
  for (const [k, v] of Object.entries(tools)) {
    if (k !== 'crictlVersion' && !existsSync(v))
      throw new Error(`${TOOLS_ENV_FILE}: ${k} ${v} does not exist`);
  }
  return tools;
}

export interface LocalImage {
  /** Full reference, e.g. `keiko.local/kf-busybox:1`. */
  name: string;
  entrypoint?: string[];
  cmd?: string[];
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/**
 * An OCI image layout archive holding `images`, all on one layer: a rootfs with the static busybox,
 * a few applet links and `/etc/motd` (for a container to delete). Built with GNU tar, no registry.
 * Returns the archive's path and each image's config digest (its image ID).
 */
export async function buildImageArchive(
  dir: string,
  busybox: string,
  images: LocalImage[],
): Promise<{ archive: string; ids: Record<string, string> }> {
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'dev', 'proc', 'sys', 'tmp'])
    mkdirSync(join(rootfs, d), { recursive: true });
  writeFileSync(join(rootfs, 'bin/busybox'), readFileSync(busybox), { mode: 0o755 });
  for (const applet of ['sh', 'sleep', 'mkdir', 'rm', 'cat', 'ls'])
    symlinkSync('busybox', join(rootfs, 'bin', applet));
  writeFileSync(join(rootfs, 'etc/motd'), 'image file the container deletes\n');
  const layout = join(dir, 'layout');
  const blobs = join(layout, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const layerFile = join(dir, 'layer.tar');
  await run('tar', [
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mtime=@0',
    '-C',
    rootfs,
    '-cf',
    layerFile,
    '.',
  ]);
  const layer = readFileSync(layerFile);
  const layerDigest = sha256(layer);
  writeFileSync(join(blobs, layerDigest), layer);
  const blob = (value: unknown) => {
    const bytes = Buffer.from(JSON.stringify(value));
    const digest = sha256(bytes);
    writeFileSync(join(blobs, digest), bytes);
    return { digest: `sha256:${digest}`, size: bytes.length };
  };
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const ids: Record<string, string> = {};
  const manifests = images.map((image) => {
    const config = blob({
      architecture: arch,
      os: 'linux',
      config: {
        Env: ['PATH=/bin'],
        ...(image.entrypoint ? { Entrypoint: image.entrypoint } : {}),
        ...(image.cmd ? { Cmd: image.cmd } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
    });
    ids[image.name] = config.digest;
    const manifest = blob({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: `sha256:${layerDigest}`,
          size: layer.length,
        },
      ],
    });
    return {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...manifest,
      annotations: {
        'io.containerd.image.name': image.name,
        'org.opencontainers.image.ref.name': image.name.slice(image.name.lastIndexOf(':') + 1),
      },
    };
  });
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const archive = join(dir, 'images.tar');
  await run('tar', ['-C', layout, '-cf', archive, '.']);
  return { archive, ids };
}

/** Mount points at or under `dir`, deepest first (from this process's mountinfo). */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
    .map((m) => m.replace(/\\040/g, ' '))
    .sort((a, b) => b.length - a.length);
}

/** PIDs whose command line mentions `text`. */
export function processesMentioning(text: string): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(p) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(text)) out.push({ pid: Number(p), cmdline });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Children of `pid`, from every process's stat (this kernel has no /proc/<pid>/task/<tid>/children). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(p));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    // A zombie still has a /proc entry; its state is Z.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Leftovers {
  processes: { pid: number; cmdline: string }[];
  mounts: string[];
  dirExists: boolean;
}

/** A containerd of its own under a temp dir, CRI enabled; {@link Containerd.stop} leaves nothing behind. */
export class Containerd {
  readonly base: string;
  readonly socket: string;
  readonly root: string;
  /** The kubelet's `/var/log/pods` of this "node". */
  readonly podLogs: string;
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private readonly createdRunDirs: string[];

  private constructor(
    readonly tools: ContainerdTools,
    readonly sandboxImage: string,
  ) {
    this.base = mkdtempSync(join(tmpdir(), 'kf-ctrd-'));
    this.socket = join(this.base, 'containerd.sock');
    this.root = join(this.base, 'root');
    this.podLogs = join(this.base, 'var-log-pods');
    mkdirSync(this.podLogs);
    this.createdRunDirs = ['/run/containerd/s', '/run/containerd'].filter((d) => !existsSync(d));
  }

  get endpoint(): string {
    return `unix://${this.socket}`;
  }

  static async start(tools: ContainerdTools, sandboxImage: string): Promise<Containerd> {
    const c = new Containerd(tools, sandboxImage);
    try {
      await c.launch();
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  private async launch() {
    const b = this.base;
    const cri = 'plugins."io.containerd.grpc.v1.cri"';
    // restrict_oom_score_adj: CRI gives sandboxes oom_score_adj -998, which needs CAP_SYS_RESOURCE;
    // the project's machines (root in a VM sandbox) lack it and runc then fails in nsexec. With the
    // option, containers get no lower score than containerd's own.
    const config = `version = 2
root = "${this.root}"
state = "${b}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${this.socket}"
[ttrpc]
  address = "${this.socket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${b}/opt"
[${cri}]
  sandbox_image = "${this.sandboxImage}"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        BinaryName = "${this.tools.runc}"
        Root = "${b}/runc"
  [${cri}.cni]
    bin_dir = "${b}/cni/bin"
    conf_dir = "${b}/cni/conf"
`;
    writeFileSync(join(b, 'config.toml'), config);
    const log = openSync(join(b, 'containerd.log'), 'a');
    // The shim is found on PATH next to containerd.
    const child = spawn(this.tools.containerd, ['--config', join(b, 'config.toml')], {
      stdio: ['ignore', log, log],
      env: { ...process.env, PATH: `${dirname(this.tools.containerd)}:${process.env.PATH ?? ''}` },
    });
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let lastError = '';
    for (let i = 0; i < 150; i++) {
      if (child.exitCode !== null) break;
      try {
        await this.crictl(['info']);
        return;
      } catch (err) {
        lastError = (err as Error).message;
      }
      await sleep(200);
    }
    throw new Error(`containerd did not start (${lastError}); its log:\n${this.logTail()}`);
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(join(this.base, 'containerd.log'), 'utf8')
        .trim()
        .split('\n')
        .slice(-lines)
        .join('\n');
    } catch {
      return '(no log)';
    }
  }

  /**
   * The worker's `/host` view of this node, as the capture Job mounts it (src/checkpoint/job.ts):
   * the host's real `/proc`, the kubelet's `/var/log/pods`, containerd's root (where the overlay
   * upper dirs are; `/var/lib/containerd` on a node) and the CRI socket at the default
   * `--cri-endpoint`'s path, each a symlink standing for one hostPath mount.
   */
  workerHostRoot(): string {
    const host = join(this.base, 'host');
    if (!existsSync(host)) {
      mkdirSync(join(host, 'var/log'), { recursive: true });
      symlinkSync('/proc', join(host, 'proc'));
      symlinkSync(this.podLogs, join(host, 'var/log/pods'));
      mkdirSync(dirname(join(host, this.root)), { recursive: true });
      symlinkSync(this.root, join(host, this.root));
      mkdirSync(join(host, 'run/containerd'), { recursive: true });
      symlinkSync(this.socket, join(host, 'run/containerd/containerd.sock'));
    }
    return host;
  }

  /** crictl against this containerd; stdout trimmed. */
  async crictl(args: string[]): Promise<string> {
    const { stdout } = await run(
      this.tools.crictl,
      ['--config', '/dev/null', '--runtime-endpoint', this.endpoint, '--timeout', '30s', ...args],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout.trim();
  }

  async ctr(args: string[]): Promise<string> {
    const { stdout } = await run(this.tools.ctr, ['--address', this.socket, ...args]);
    return stdout.trim();
  }

  /** Writes a crictl JSON config into the temp dir and returns its path. */
  configFile(name: string, value: unknown): string {
    const path = join(this.base, name);
    writeFileSync(path, JSON.stringify(value, null, 2));
    return path;
  }

  /**
   * Stops every pod sandbox (and so every container and shim), then containerd; unmounts whatever is
   * still mounted under the temp dir and removes it. Returns what was still there before the forced
   * clean-up, so a test can assert that the orderly stop left nothing.
   */
  async stop(): Promise<Leftovers> {
    if (this.child && this.child.exitCode === null) {
      await this.crictl(['rmp', '--force', '--all']).catch(() => '');
      this.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([
        this.exited!.then(() => true),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), 15_000);
        }),
      ]);
      clearTimeout(timer);
      if (!done) {
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
    // Shims exit once their last task is deleted; give them a moment.
    for (let i = 0; i < 50 && processesMentioning(this.base).length > 0; i++) await sleep(100);
    const leftovers: Leftovers = {
      processes: processesMentioning(this.base),
      mounts: mountsUnder(this.base),
      dirExists: true,
    };
    for (const p of leftovers.processes) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const m of mountsUnder(this.base)) await run('umount', ['-l', m]).catch(() => undefined);
    rmSync(this.base, { recursive: true, force: true });
    leftovers.dirExists = existsSync(this.base);
    for (const d of this.createdRunDirs) {
      try {
        rmdirSync(d); // only when empty
      } catch {
        break;
      }
    }
    return leftovers;
  }
}
