/**
 * Bootstrap user data per OS family, carrying the group's labels, taints, max pods and extra kubelet
 * arguments, with the user's pre/post stages: AL2023 (multipart MIME with nodeadm NodeConfig),
 * Bottlerocket (TOML settings) and AL2 (bootstrap.sh). Pure.
 */
import type { TaintSpec } from '../api/instancegroup.js';

export type OsFamily = 'amazonlinux2023' | 'amazonlinux2' | 'bottlerocket' | 'windows';
export const OS_FAMILY_ANNOTATION = 'instancemgr.keikoproj.io/os-family';

export interface ClusterInfo {
  name: string;
  endpoint: string;
  certificateAuthority: string;
  serviceCidr: string;
}

export interface BootstrapInput {
  family: OsFamily;
  cluster: ClusterInfo;
  labels: Record<string, string>;
  taints: TaintSpec[];
  maxPods?: number;
  kubeletArgs?: string;
  stages: { stage?: string; data: string }[];
}

const decode = (data: string): string => {
  const trimmed = data.trim();
  if (/^[A-Za-z0-9+/=\s]+$/.test(trimmed) && trimmed.length % 4 === 0 && trimmed.length > 0) {
    const text = Buffer.from(trimmed, 'base64').toString('utf8');
    if (!text.includes('\uFFFD')) return text;
  }
  return data;
};

const labelArg = (labels: Record<string, string>) =>
  Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
const taintArg = (taints: TaintSpec[]) =>
  taints.map((t) => `${t.key}${t.value !== undefined ? `=${t.value}` : ''}:${t.effect}`).join(',');

/** Kubelet flags for labels, taints, max pods and the user's extra arguments. */
export function kubeletFlags(input: BootstrapInput): string[] {
  const flags: string[] = [];
  if (Object.keys(input.labels).length) flags.push(`--node-labels=${labelArg(input.labels)}`);
  if (input.taints.length) flags.push(`--register-with-taints=${taintArg(input.taints)}`);
  if (input.maxPods) flags.push(`--max-pods=${input.maxPods}`);
  if (input.kubeletArgs?.trim()) flags.push(...input.kubeletArgs.trim().split(/\s+/));
  return flags;
}

/** The user data as text (base64-encode it for the launch template). */
export function renderUserData(input: BootstrapInput): string {
  const pre = input.stages
    .filter((s) => (s.stage ?? 'PreBootstrap') === 'PreBootstrap')
    .map((s) => decode(s.data));
  const post = input.stages.filter((s) => s.stage === 'PostBootstrap').map((s) => decode(s.data));
  const nodeConfigs = input.stages.filter((s) => s.stage === 'NodeConfigYaml').map((s) => decode(s.data));
  const c = input.cluster;
  switch (input.family) {
    case 'bottlerocket': {
      const lines = [
        '[settings.kubernetes]',
        `cluster-name = "${c.name}"`,
        `api-server = "${c.endpoint}"`,
        `cluster-certificate = "${c.certificateAuthority}"`,
        ...(input.maxPods ? [`max-pods = ${input.maxPods}`] : []),
        '',
        '[settings.kubernetes.node-labels]',
        ...Object.entries(input.labels)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `"${k}" = "${v}"`),
        '',
        '[settings.kubernetes.node-taints]',
        ...input.taints.map((t) => `"${t.key}" = "${t.value ?? ''}:${t.effect}"`),
        ...pre,
      ];
      return `${lines.join('\n')}\n`;
    }
    case 'amazonlinux2': {
      const flags = kubeletFlags(input).join(' ');
      const dns = c.serviceCidr.replace(/\.\d+\/\d+$/, '.10');
      return [
        '#!/bin/bash',
        'set -o xtrace',
        ...pre,
        `/etc/eks/bootstrap.sh ${c.name} --b64-cluster-ca ${c.certificateAuthority} --apiserver-endpoint ${c.endpoint} --dns-cluster-ip ${dns} --kubelet-extra-args '${flags}'`,
        'set +o xtrace',
        ...post,
        '',
      ].join('\n');
    }
    default: {
      // AL2023 (also what windows falls back to here: windows nodes are out of this issue's scope).
      const boundary = 'KEIKO-INSTANCE-MANAGER';
      const flagLines = kubeletFlags(input).map((f) => `      - "${f}"`);
      const nodeConfig = [
        '---',
        'apiVersion: node.eks.aws/v1alpha1',
        'kind: NodeConfig',
        'spec:',
        '  cluster:',
        `    name: ${c.name}`,
        `    apiServerEndpoint: ${c.endpoint}`,
        `    certificateAuthority: ${c.certificateAuthority}`,
        `    cidr: ${c.serviceCidr}`,
        '  kubelet:',
        '    flags:',
        ...flagLines,
      ].join('\n');
      const parts: [string, string][] = [
        ...pre.map((p): [string, string] => ['text/x-shellscript', p]),
        ...nodeConfigs.map((n): [string, string] => ['application/node.eks.aws', n]),
        ['application/node.eks.aws', nodeConfig],
        ...post.map((p): [string, string] => ['text/x-shellscript', p]),
      ];
      return [
        'MIME-Version: 1.0',
        `Content-Type: multipart/mixed; boundary="${boundary}"`,
        '',
        ...parts.flatMap(([type, body]) => [
          `--${boundary}`,
          `Content-Type: ${type}; charset="us-ascii"`,
          '',
          body,
          '',
        ]),
        `--${boundary}--`,
        '',
      ].join('\n');
    }
  }
}
