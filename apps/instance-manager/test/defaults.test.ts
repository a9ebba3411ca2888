/** The defaults ConfigMap: boundaries, conditionals, parsing errors. Pure. */
import { describe, expect, test } from '@jest/globals';
import {
  applyClusterDefaults,
  DefaultsError,
  parseClusterDefaults,
  selectorMatches,
} from '../src/api/cluster-defaults.js';

const cm = parseClusterDefaults({
  boundaries: `
restricted:
  - spec.eks.configuration.clusterName
  - spec.eks.configuration.keyPairName
shared:
  merge:
    - spec.eks.configuration.labels
  mergeOverride:
    - spec.eks.configuration.tags
  replace:
    - spec.strategy
`,
  defaults: `
spec:
  provisioner: eks
  strategy: {type: rollingUpdate, rollingUpdate: {maxUnavailable: 2}}
  eks:
    minSize: 1
    configuration:
      clusterName: prod
      image: ami-default
      labels: {env: prod, team: platform}
      tags: [{key: cost-center, value: "1"}, {key: team, value: platform}]
`,
  conditionals: `
- annotationSelector: 'instancemgr.keikoproj.io/os-family = bottlerocket'
  defaults:
    spec:
      eks:
        configuration:
          image: ami-bottlerocket
`,
});

const group = (spec: Record<string, unknown>, annotations: Record<string, string> = {}) => ({
  metadata: { annotations },
  spec,
});

describe('applyClusterDefaults', () => {
  const mine = {
    provisioner: 'eks',
    eks: {
      maxSize: 5,
      configuration: {
        clusterName: 'mine',
        keyPairName: 'my-key',
        instanceType: 'm5.large',
        labels: { team: 'data' },
        tags: [{ key: 'team', value: 'data' }],
      },
    },
  };
  const out = applyClusterDefaults(group(mine), cm) as typeof mine & {
    strategy: unknown;
    eks: { minSize: number; configuration: Record<string, unknown> };
  };
  test('unset fields take the default; set fields keep theirs', () => {
    expect(out.eks.minSize).toBe(1);
    expect(out.eks.maxSize).toBe(5);
    expect(out.eks.configuration.image).toBe('ami-default');
    expect(out.eks.configuration.instanceType).toBe('m5.large');
  });
  test('restricted: the default wins; without a default the value is erased', () => {
    expect(out.eks.configuration.clusterName).toBe('prod');
    expect(out.eks.configuration.keyPairName).toBeUndefined();
  });
  test('merge: union, the default wins conflicts', () => {
    expect(out.eks.configuration.labels).toEqual({ env: 'prod', team: 'platform' });
  });
  test('mergeOverride: union by key, the group wins', () => {
    expect(out.eks.configuration.tags).toEqual([
      { key: 'team', value: 'data' },
      { key: 'cost-center', value: '1' },
    ]);
  });
  test('replace: the group replaces the whole default', () => {
    const o = applyClusterDefaults(group({ ...mine, strategy: { type: 'crd' } }), cm) as {
      strategy: unknown;
    };
    expect(o.strategy).toEqual({ type: 'crd' });
    expect(out.strategy).toEqual({ type: 'rollingUpdate', rollingUpdate: { maxUnavailable: 2 } });
  });
  test('conditionals match annotations and beat plain defaults', () => {
    const o = applyClusterDefaults(
      group(mine, { 'instancemgr.keikoproj.io/os-family': 'bottlerocket' }),
      cm,
    ) as typeof out;
    expect(o.eks.configuration.image).toBe('ami-bottlerocket');
  });
  test('no ConfigMap: the spec as is, not the same object', () => {
    const o = applyClusterDefaults(group(mine), undefined);
    expect(o).toEqual(mine);
    expect(o).not.toBe(mine);
  });
});

describe('selectorMatches', () => {
  const a = { x: '1', y: '2' };
  test.each([
    ['x=1', true],
    ['x==1,y=2', true],
    ['x!=1', false],
    ['x in (1,3)', true],
    ['x notin (1,3)', false],
    ['z', false],
    ['!z', true],
    ['x, y in (2)', true],
  ])('%s -> %p', (sel, want) => {
    expect(selectorMatches(sel, a)).toBe(want);
  });
});

test('bad YAML names the key', () => {
  expect(() => parseClusterDefaults({ defaults: 'spec: [' })).toThrow(DefaultsError);
  expect(() => parseClusterDefaults({ defaults: 'spec: [' })).toThrow(/data\.defaults/);
  expect(() => parseClusterDefaults({ boundaries: 'restricted: 3' })).toThrow(/boundaries\.restricted/);
});

test('hash changes with the data', () => {
  expect(parseClusterDefaults({ defaults: 'a: 1' }).hash).not.toBe(
    parseClusterDefaults({ defaults: 'a: 2' }).hash,
  );
});
