import { describe, expect, it } from '@jest/globals';
import { parseCrds, uniqueName } from '../src/index.js';
import { parseVersions } from '../src/versions.js';

describe('parseVersions', () => {
  it('reads the pinned versions from versions.sh', () => {
    const v = parseVersions(
      '# c\nK8S_VERSION=v1.36.3\nETCD_VERSION=v3.6.16\nKWOK_VERSION=v0.8.0\nHELM_VERSION=v3.21.4\n',
    );
    expect(v).toEqual({ kubernetes: 'v1.36.3', etcd: 'v3.6.16', kwok: 'v0.8.0', helm: 'v3.21.4' });
  });
  it('names a missing variable', () => {
    expect(() => parseVersions('K8S_VERSION=v1.36.3')).toThrow('ETCD_VERSION is missing');
  });
});

describe('uniqueName', () => {
  it('makes DNS-1123 names under 63 characters', () => {
    const name = uniqueName(`Some_Test Name ${'x'.repeat(80)}`);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(uniqueName('a')).not.toBe(uniqueName('a'));
  });
});

describe('parseCrds', () => {
  it('keeps only CustomResourceDefinitions and reports YAML errors', () => {
    const crds = parseCrds('kind: ConfigMap\n---\nkind: CustomResourceDefinition\nmetadata: {name: a.b}\n');
    expect(crds.map((c) => c.metadata?.name)).toEqual(['a.b']);
    expect(() => parseCrds('kind: [unclosed')).toThrow('invalid CRD YAML');
  });
});
