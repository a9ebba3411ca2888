/** Rendering kubeconfig files for the local control plane's identities. */
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

export interface KubeconfigInput {
  server: string;
  caPem: string;
  user: string;
  token: string;
  /** Context and cluster name (default `keiko-local`). */
  name?: string;
}

export function renderKubeconfig(input: KubeconfigInput): string {
  const name = input.name ?? 'keiko-local';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: input.server,
          'certificate-authority-data': Buffer.from(input.caPem).toString('base64'),
        },
      },
    ],
    users: [{ name: input.user, user: { token: input.token } }],
    contexts: [{ name, context: { cluster: name, user: input.user } }],
    'current-context': name,
  });
}

/** A client-node KubeConfig loaded from a kubeconfig file path. */
export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}
