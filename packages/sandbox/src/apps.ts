/**
 * Finding the tools to run: every `apps/<tool>/package.json` with a `keiko.sandbox` section. An app
 * joins the sandbox by declaring it; nothing here names a tool.
 *
 * ```json
 * "keiko": { "sandbox": {
 *   "entry": "dist/main.js",            // the same bundled entry point its image runs
 *   "args": ["--leader-elect=false"],   // the flags its chart sets
 *   "mode": "controller",               // or "once": run to completion (a CLI such as governor)
 *   "aws": true, "argo": false,         // what it needs from the sandbox
 *   "crds": "../../deploy/charts/<tool>/crds",
 *   "examples": "../../examples/<tool>"  // *.yaml manifests and *.aws.yaml fixtures (./fixtures.ts)
 * } }
 * ```
 *
 * The sandbox's Argo runs with instanceID `keiko-sandbox`, so an app that submits workflows sets its
 * instance-id flag to that in `args`. Every app listed here must also be a devDependency of
 * @keiko/sandbox, so that turbo builds it before the sandbox's end-to-end test (a test checks this).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface SandboxApp {
  name: string;
  dir: string;
  entry: string;
  args: string[];
  env: Record<string, string>;
  mode: 'controller' | 'once';
  aws: boolean;
  argo: boolean;
  crdsDir?: string;
  examplesDir?: string;
}

interface Descriptor {
  entry?: string;
  args?: string[];
  env?: Record<string, string>;
  mode?: 'controller' | 'once';
  aws?: boolean;
  argo?: boolean;
  crds?: string;
  examples?: string;
}

export function discoverApps(repoRoot: string): SandboxApp[] {
  const appsDir = join(repoRoot, 'apps');
  if (!existsSync(appsDir)) return [];
  const out: SandboxApp[] = [];
  for (const name of readdirSync(appsDir).sort()) {
    const pkgFile = join(appsDir, name, 'package.json');
    if (!existsSync(pkgFile)) continue;
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { keiko?: { sandbox?: Descriptor } };
    const d = pkg.keiko?.sandbox;
    if (!d) continue;
    const dir = join(appsDir, name);
    const path = (p: string | undefined) => (p ? resolve(dir, p) : undefined);
    out.push({
      name,
      dir,
      entry: resolve(dir, d.entry ?? 'dist/main.js'),
      args: d.args ?? [],
      env: d.env ?? {},
      mode: d.mode ?? 'controller',
      aws: d.aws ?? false,
      argo: d.argo ?? false,
      crdsDir: path(d.crds),
      examplesDir: path(d.examples),
    });
  }
  return out;
}

/** YAML files of a directory, sorted (so `00-namespace.yaml` goes first). */
export function yamlFiles(dir: string | undefined): string[] {
  if (!dir || !existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join(dir, f));
}
