/**
 * What a node's launch template user data asks the kubelet for: labels and taints.
 *
 * The convention (documented in packages/aws-kit/README.md) follows what real EKS user data does:
 * - kubelet flags anywhere in the text, as in the AL2 `bootstrap.sh --kubelet-extra-args '...'`
 *   line or an AL2023 nodeadm `NodeConfig` (`spec.kubelet.flags`):
 *   `--node-labels=k1=v1,k2=v2` and `--register-with-taints=k1=v1:NoSchedule,k2:NoExecute`;
 * - Bottlerocket TOML sections `[settings.kubernetes.node-labels]` (`"k" = "v"`) and
 *   `[settings.kubernetes.node-taints]` (`"k" = "v:Effect"` or `"k" = ["v:Effect", ...]`).
 * MIME multipart user data needs no special handling: the flags are found in any part.
 * Later occurrences win for the same label key.
 */

export interface NodeTaint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface KubeletRegistration {
  labels: Record<string, string>;
  taints: NodeTaint[];
}

const EFFECTS = new Set(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);

/** Decodes EC2 user data: base64 as EC2 stores it, or plain text if it is not base64. */
export function decodeUserData(userData: string | null | undefined): string {
  if (!userData) return '';
  const compact = userData.replace(/\s+/g, '');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(compact) && compact.length % 4 === 0) {
    return Buffer.from(compact, 'base64').toString('utf8');
  }
  return userData;
}

/** Parses `key=value:Effect` or `key:Effect`; undefined if malformed. */
export function parseTaint(text: string): NodeTaint | undefined {
  const m = /^([^=:\s]+)(?:=([^:\s]*))?:(\w+)$/.exec(text.trim());
  if (!m || !EFFECTS.has(m[3]!)) return undefined;
  return { key: m[1]!, ...(m[2] ? { value: m[2] } : {}), effect: m[3] as NodeTaint['effect'] };
}

function flagValues(text: string, flag: string): string[] {
  const re = new RegExp(`--${flag}[= ]["']?([^\\s"']+)`, 'g');
  return [...text.matchAll(re)].map((m) => m[1]!);
}

function tomlSection(text: string, name: string): Array<[string, string[]]> {
  const lines = text.split('\n');
  const out: Array<[string, string[]]> = [];
  let inside = false;
  for (const raw of lines) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      inside = line === `[${name}]`;
      continue;
    }
    if (!inside) continue;
    const m = /^"?([^"=\s]+)"?\s*=\s*(.+)$/.exec(line);
    if (!m) continue;
    const values = [...m[2]!.matchAll(/"([^"]*)"/g)].map((v) => v[1]!);
    out.push([m[1]!, values]);
  }
  return out;
}

/** The labels and taints that `userData` (base64 or plain) asks the kubelet to register with. */
export function parseKubeletRegistration(userData: string | null | undefined): KubeletRegistration {
  const text = decodeUserData(userData);
  const labels: Record<string, string> = {};
  const taints: NodeTaint[] = [];
  for (const list of flagValues(text, 'node-labels')) {
    for (const pair of list.split(',')) {
      const i = pair.indexOf('=');
      if (i > 0) labels[pair.slice(0, i)] = pair.slice(i + 1);
    }
  }
  for (const list of flagValues(text, 'register-with-taints')) {
    for (const item of list.split(',')) {
      const taint = parseTaint(item);
      if (taint) taints.push(taint);
    }
  }
  for (const [key, values] of tomlSection(text, 'settings.kubernetes.node-labels')) {
    if (values[0] !== undefined) labels[key] = values[0];
  }
  for (const [key, values] of tomlSection(text, 'settings.kubernetes.node-taints')) {
    for (const v of values) {
      const taint = parseTaint(`${key}=${v}`);
      if (taint) taints.push(taint);
    }
  }
  return { labels, taints };
}
