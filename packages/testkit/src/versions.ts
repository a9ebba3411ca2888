/**
 * Pinned versions of the Go-built binaries and where the build script caches them.
 *
 * `scripts/versions.sh` is the single source of truth; this module parses it so the shell build and
 * the TypeScript harness can never disagree about which version is expected.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Versions {
  kubernetes: string;
  etcd: string;
  kwok: string;
  helm: string;
}

/** The package root (works from `src/` under ts-jest and from `dist/` once bundled). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      readFileSync(join(dir, 'scripts', 'versions.sh'));
      return dir;
    } catch {
      dir = resolve(dir, '..');
    }
  }
  throw new Error(`testkit: cannot find scripts/versions.sh above ${fileURLToPath(import.meta.url)}`);
}

export function parseVersions(text: string): Versions {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(\S+)\s*$/.exec(line.trim());
    if (m) vars.set(m[1]!, m[2]!);
  }
  const get = (name: string): string => {
    const v = vars.get(name);
    if (!v) throw new Error(`testkit: ${name} is missing from scripts/versions.sh`);
    return v;
  };
  return {
    kubernetes: get('K8S_VERSION'),
    etcd: get('ETCD_VERSION'),
    kwok: get('KWOK_VERSION'),
    helm: get('HELM_VERSION'),
  };
}

export function versions(): Versions {
  return parseVersions(readFileSync(join(packageRoot(), 'scripts', 'versions.sh'), 'utf8'));
}

/** Root of the binary cache; `KEIKO_CACHE_DIR` overrides `~/.cache/keiko`, as in the build script. */
export function cacheDir(): string {
  return process.env.KEIKO_CACHE_DIR ?? join(homedir(), '.cache', 'keiko');
}
