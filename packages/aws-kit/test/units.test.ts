/** Pure parts: error classification, backoff, and the node simulator's user-data convention. */
import { describe, expect, test } from '@jest/globals';
import { parseKubeletRegistration } from '@keiko/testkit';
import { backoffDelay, classifyAwsError, eksAmiParameter } from '../src/index.js';

test.each([
  [{ name: 'Throttling' }, 'throttled'],
  [{ name: 'RequestLimitExceeded' }, 'throttled'],
  [{ name: 'Whatever', $metadata: { httpStatusCode: 429 } }, 'throttled'],
  [{ name: 'InvalidInstanceID.NotFound' }, 'not-found'],
  [{ name: 'ResourceNotFoundException' }, 'not-found'],
  [{ name: 'ValidationError', message: 'AutoScalingGroup name not found - x' }, 'not-found'],
  [{ name: 'AlreadyExists' }, 'already-exists'],
  [{ name: 'InvalidLaunchTemplateName.AlreadyExistsException' }, 'already-exists'],
  [{ name: 'EntityAlreadyExists' }, 'already-exists'],
  [{ name: 'UnauthorizedOperation' }, 'access-denied'],
  [{ name: 'AccessDeniedException' }, 'access-denied'],
  [{ name: 'ScalingActivityInProgress' }, 'retryable'],
  [{ name: 'Boom', $metadata: { httpStatusCode: 503 } }, 'retryable'],
  [{ code: 'ECONNRESET' }, 'retryable'],
  [{ name: 'InvalidParameterValue' }, 'invalid'],
  [new Error('plain'), 'unknown'],
])('classifyAwsError(%o) = %s', (err, want) => {
  expect(classifyAwsError(err)).toBe(want);
});

test('backoff has full jitter under a ceiling', () => {
  expect(backoffDelay(3, 100, 20_000, () => 0.5)).toBe(400);
  expect(backoffDelay(20, 100, 20_000, () => 0.999)).toBeLessThan(20_000);
  expect(backoffDelay(0, 100, 20_000, () => 0)).toBe(0);
});

test('EKS AMI parameter names', () => {
  expect(eksAmiParameter('1.36', 'al2023')).toBe(
    '/aws/service/eks/optimized-ami/1.36/amazon-linux-2023/x86_64/standard/recommended/image_id',
  );
  expect(eksAmiParameter('1.36', 'bottlerocket', 'arm64')).toBe(
    '/aws/service/bottlerocket/aws-k8s-1.36/arm64/latest/image_id',
  );
});

describe('user data -> kubelet labels and taints (the node simulator convention)', () => {
  test('AL2 bootstrap.sh --kubelet-extra-args', () => {
    const ud = Buffer.from(
      `#!/bin/bash\n/etc/eks/bootstrap.sh c --kubelet-extra-args '--node-labels=a=1,b=2 --register-with-taints=x=y:NoSchedule,z:NoExecute'\n`,
    ).toString('base64');
    expect(parseKubeletRegistration(ud)).toEqual({
      labels: { a: '1', b: '2' },
      taints: [
        { key: 'x', value: 'y', effect: 'NoSchedule' },
        { key: 'z', effect: 'NoExecute' },
      ],
    });
  });

  test('AL2023 nodeadm flags and Bottlerocket TOML', () => {
    const nodeadm = `apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    flags:\n      - "--node-labels=role=ingress"\n`;
    expect(parseKubeletRegistration(nodeadm).labels).toEqual({ role: 'ingress' });
    const toml = `[settings.kubernetes]\ncluster-name = "c"\n[settings.kubernetes.node-labels]\n"pool" = "gpu"\n[settings.kubernetes.node-taints]\n"nvidia.com/gpu" = ["present:NoSchedule"]\n`;
    expect(parseKubeletRegistration(toml)).toEqual({
      labels: { pool: 'gpu' },
      taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }],
    });
    expect(parseKubeletRegistration('')).toEqual({ labels: {}, taints: [] });
  });
});
