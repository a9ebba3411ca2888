#!/usr/bin/env node
// `pnpm exec kind ...`: runs the pinned kind, installing it from its Go module on first use into the
// testkit cache (kind needs a container runtime, so it is only useful where a Docker engine runs).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const KIND_VERSION = 'v0.33.0';
const dir = join(
  process.env.KEIKO_CACHE_DIR ?? join(homedir(), '.cache', 'keiko'),
  'bin',
  `kind-${KIND_VERSION}`,
);
const kind = join(dir, 'kind');
if (!existsSync(kind)) {
  mkdirSync(dir, { recursive: true });
  console.error(`[kind] installing sigs.k8s.io/kind@${KIND_VERSION} into ${dir} (go install)`);
  execFileSync('go', ['install', `sigs.k8s.io/kind@${KIND_VERSION}`], {
    stdio: 'inherit',
    env: { ...process.env, GOBIN: dir, CGO_ENABLED: '0', GOTOOLCHAIN: 'local' },
  });
}
const result = spawnSync(kind, process.argv.slice(2), { stdio: 'inherit' });
process.exit(result.status ?? 1);
