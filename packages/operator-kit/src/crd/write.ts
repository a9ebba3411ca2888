/**
 * Writing generated CRD YAML into a chart folder, or checking that the committed files are current.
 *
 * An app calls {@link runCrdScript} from a small script behind `pnpm crds` (write) and
 * `pnpm crds:check` (check, run by CI). Only files starting with the generated header are ever
 * deleted or reported as leftovers, so hand-written files beside them are safe.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CustomResourceDefinition } from './types.js';
import { GENERATED_MARKER, toYaml } from './yaml.js';

export interface WriteCrdsOptions {
  crds: CustomResourceDefinition[];
  /** Folder of the YAML files, e.g. `deploy/charts/<tool>/crds` (a path, or a file: URL). */
  outDir: string | URL;
  /** Compare instead of writing; the result is not ok when a file is stale, missing or left over. */
  check?: boolean;
  /** The command that regenerates the files, named in headers and messages (default `pnpm crds`). */
  command?: string;
}

export interface WriteCrdsResult {
  /** False only in check mode, when the folder does not match the CRDs. */
  ok: boolean;
  /** Files created or rewritten (write mode). */
  written: string[];
  /** Files whose content differs from the generated YAML (check mode). */
  stale: string[];
  /** Files that should exist but do not (check mode). */
  missing: string[];
  /** Generated files no CRD produces any more: deleted in write mode, reported in check mode. */
  orphaned: string[];
  /** A human-readable summary, e.g. `CRD YAML is stale: run \`pnpm crds\`` and the file list. */
  message: string;
}

/** The file a CRD is written to: `<group>_<plural>.yaml`, as controller-gen names them. */
export function crdFileName(crd: CustomResourceDefinition): string {
  return `${crd.spec.group}_${crd.spec.names.plural}.yaml`;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function generatedFilesIn(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const generated: string[] = [];
  for (const name of names.filter((n) => /\.ya?ml$/.test(n)).sort()) {
    const text = await readIfExists(join(dir, name));
    if (text?.startsWith(GENERATED_MARKER)) generated.push(name);
  }
  return generated;
}

/**
 * Writes one YAML file per CRD into `outDir` (only files whose content changed) and deletes
 * generated files no CRD produces any more; with `check`, touches nothing and reports the
 * differences instead. Throws if two CRDs map to the same file.
 */
export async function writeCrds(options: WriteCrdsOptions): Promise<WriteCrdsResult> {
  const dir = typeof options.outDir === 'string' ? resolve(options.outDir) : fileURLToPath(options.outDir);
  const command = options.command ?? 'pnpm crds';
  const expected = new Map<string, string>();
  for (const crd of options.crds) {
    const name = crdFileName(crd);
    if (expected.has(name)) throw new Error(`writeCrds: two CRDs are both named ${crd.metadata.name}`);
    expected.set(name, toYaml(crd, { command }));
  }
  const result: WriteCrdsResult = {
    ok: true,
    written: [],
    stale: [],
    missing: [],
    orphaned: [],
    message: '',
  };
  const show = (name: string) => relative(process.cwd(), join(dir, name)) || name;

  if (!options.check) await mkdir(dir, { recursive: true });
  for (const [name, text] of [...expected].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const current = await readIfExists(join(dir, name));
    if (current === text) continue;
    if (options.check) (current === undefined ? result.missing : result.stale).push(show(name));
    else {
      await writeFile(join(dir, name), text);
      result.written.push(show(name));
    }
  }
  for (const name of await generatedFilesIn(dir)) {
    if (expected.has(name)) continue;
    if (!options.check) await rm(join(dir, name));
    result.orphaned.push(show(name));
  }

  const problems = result.stale.length + result.missing.length + result.orphaned.length;
  if (options.check && problems > 0) {
    result.ok = false;
    result.message = [
      `CRD YAML is stale: run \`${command}\``,
      ...result.stale.map((f) => `  stale:   ${f}`),
      ...result.missing.map((f) => `  missing: ${f}`),
      ...result.orphaned.map((f) => `  no longer generated: ${f}`),
    ].join('\n');
  } else if (options.check) {
    result.message = `CRD YAML is up to date (${expected.size} file(s) in ${show('.')})`;
  } else {
    const changes = [
      ...result.written.map((f) => `  wrote:   ${f}`),
      ...result.orphaned.map((f) => `  removed: ${f}`),
    ];
    result.message = changes.length
      ? ['CRD YAML updated', ...changes].join('\n')
      : `CRD YAML already up to date (${expected.size} file(s))`;
  }
  return result;
}

/**
 * The body of an app's `pnpm crds` script: writes the files, or with `--check` in `argv` compares
 * them, prints the summary and sets `process.exitCode = 1` when stale (so CI fails).
 *
 * ```ts
 * // apps/<tool>/src/api/crds.ts, built by tsup; package.json:
 * //   "crds": "pnpm build && node dist/api/crds.js", "crds:check": "pnpm build && node dist/api/crds.js --check"
 * await runCrdScript({ crds: [rollingUpgradeCrd], outDir: new URL('../../../../deploy/charts/upgrade-manager/crds', import.meta.url) });
 * ```
 */
export async function runCrdScript(
  options: Omit<WriteCrdsOptions, 'check'> & { argv?: readonly string[] },
): Promise<WriteCrdsResult> {
  const argv = options.argv ?? process.argv.slice(2);
  const result = await writeCrds({ ...options, check: argv.includes('--check') });
  if (result.ok) console.log(result.message);
  else {
    console.error(result.message);
    process.exitCode = 1;
  }
  return result;
}
