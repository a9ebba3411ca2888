/**
 * Locating the control-plane binaries built by `scripts/build-binaries.sh`.
 *
 * A missing binary is a setup problem, not a test failure, so the error names the exact command that
 * builds it.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, type Versions, versions } from './versions.js';

export type Component = keyof Versions;

export type BinaryName =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kubectl'
  | 'kwok'
  | 'kwokctl'
  | 'helm';

const componentOf: Record<BinaryName, Component> = {
  etcd: 'etcd',
  'kube-apiserver': 'kubernetes',
  'kube-controller-manager': 'kubernetes',
  'kube-scheduler': 'kubernetes',
  kubectl: 'kubernetes',
  kwok: 'kwok',
  kwokctl: 'kwok',
  helm: 'helm',
};

/** Thrown when a binary has not been built yet; `message` says how to build it. */
export class MissingBinaryError extends Error {
  constructor(
    readonly binary: BinaryName,
    readonly path: string,
    readonly fixCommand: string,
  ) {
    super(`testkit: ${binary} is not built (expected ${path}). Build it with: ${fixCommand}`);
    this.name = 'MissingBinaryError';
  }
}

/** The directory holding one component's binaries, e.g. `~/.cache/keiko/bin/kubernetes-v1.36.3`. */
export function componentDir(component: Component, v: Versions = versions()): string {
  return join(cacheDir(), 'bin', `${component}-${v[component]}`);
}

/** Absolute path of a built binary; throws {@link MissingBinaryError} if it is absent or unfinished. */
export function binaryPath(binary: BinaryName): string {
  const component = componentOf[binary];
  const dir = componentDir(component);
  const path = join(dir, binary);
  const fix = `bash packages/testkit/scripts/build-binaries.sh ${component}   (or ./dev setup)`;
  if (!existsSync(join(dir, '.complete')) || !existsSync(path)) {
    throw new MissingBinaryError(binary, path, fix);
  }
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new MissingBinaryError(binary, path, fix);
  }
  return path;
}
