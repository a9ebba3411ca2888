/**
 * Where `scripts/build-binaries.sh argo` puts Argo's workflow-controller and Argo's CRD manifests.
 *
 * The version is `ARGO_VERSION` in `scripts/versions.sh`, read here from the same file so the build
 * script and the harness cannot disagree; the CRDs come from the same Go module version as the binary.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, packageRoot } from '../versions.js';

/** The pinned Argo Workflows version (`ARGO_VERSION` in scripts/versions.sh), e.g. `v4.0.5`. */
export function argoVersion(): string {
  const text = readFileSync(join(packageRoot(), 'scripts', 'versions.sh'), 'utf8');
  const match = /^ARGO_VERSION=(\S+)\s*$/m.exec(text);
  if (!match) throw new Error('testkit: ARGO_VERSION is missing from scripts/versions.sh');
  return match[1]!;
}

/** `~/.cache/keiko/bin/argo-<version>`: the workflow-controller binary and `crds/{minimal,full}`. */
export function argoDir(): string {
  return join(cacheDir(), 'bin', `argo-${argoVersion()}`);
}

const FIX = 'bash packages/testkit/scripts/build-binaries.sh argo   (or ./dev setup)';

/** Absolute path of the built workflow-controller; throws with the build command when it is missing. */
export function workflowControllerPath(): string {
  const dir = argoDir();
  const path = join(dir, 'workflow-controller');
  if (!existsSync(join(dir, '.complete')) || !existsSync(path)) {
    throw new Error(
      `testkit: Argo's workflow-controller is not built (expected ${path}). Build it with: ${FIX}`,
    );
  }
  return path;
}

/**
 * Paths of Argo's CRD manifests. `minimal` (the default, what Argo's own install uses) keeps the
 * schema open (`x-kubernetes-preserve-unknown-fields`); `full` carries the whole OpenAPI schema.
 */
export function argoCrdFiles(flavour: 'minimal' | 'full' = 'minimal'): string[] {
  const dir = join(argoDir(), 'crds', flavour);
  if (!existsSync(join(argoDir(), 'crds', '.complete'))) {
    throw new Error(`testkit: Argo's CRD manifests are missing in ${dir}. Build them with: ${FIX}`);
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}
