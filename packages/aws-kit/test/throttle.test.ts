/**
 * Throttling. moto never throttles, so throttling errors are injected in-process: an SDK middleware
 * placed after the deserializer answers the first attempts with the HTTP 400 `Throttling` error
 * document AutoScaling sends, which the SDK's own deserializer and retry strategy then handle as
 * they would AWS's. Later attempts go through to moto.
 */
import { expect, test } from '@jest/globals';
import type { DeserializeMiddleware } from '@smithy/types';
import { classifyAwsError } from '../src/index.js';
import { awsTestContext, counter } from './support.js';

const THROTTLING_BODY = `<ErrorResponse xmlns="https://autoscaling.amazonaws.com/doc/2011-01-01/">
  <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>
  <RequestId>00000000-0000-0000-0000-000000000000</RequestId>
</ErrorResponse>`;

/** A middleware that answers the first `count` attempts with a throttling error. */
function throttleFirst(count: number) {
  let remaining = count;
  // biome-ignore lint/suspicious/noExplicitAny: any client's input/output
  const mw: DeserializeMiddleware<any, any> = (next) => async (args) => {
    if (remaining <= 0) return next(args);
    remaining--;
    return {
      response: {
        statusCode: 400,
        reason: 'Bad Request',
        headers: { 'content-type': 'text/xml' },
        body: Buffer.from(THROTTLING_BODY),
      },
      output: undefined,
    };
  };
  return mw;
}

const inject = (count: number) => ({
  // biome-ignore lint/suspicious/noExplicitAny: the clients' stacks differ in their type parameters
  customize: (client: { middlewareStack: any }, service: string) => {
    if (service !== 'autoscaling') return;
    client.middlewareStack.addRelativeTo(throttleFirst(count), {
      relation: 'after',
      toMiddleware: 'deserializerMiddleware',
      name: 'injectThrottling',
    });
  },
  baseDelayMs: 20,
  maxBackoffMs: 200,
});

test('throttled calls back off and succeed; the throttle counter says so', async () => {
  const { aws } = await awsTestContext('throttle', { ...inject(3), maxAttempts: 5 });
  try {
    const { DescribeAutoScalingGroupsCommand } = await import('@aws-sdk/client-auto-scaling');
    const out = await aws.autoScaling.send(new DescribeAutoScalingGroupsCommand({}));
    expect(out.AutoScalingGroups).toEqual([]);
    expect(out.$metadata.attempts).toBe(4);
    const labels = { service: 'autoscaling', operation: 'DescribeAutoScalingGroups' };
    expect(await counter(aws, 'throttles', labels)).toBe(3);
    expect(await counter(aws, 'attempts', labels)).toBe(4);
    expect(await counter(aws, 'calls', { ...labels, result: 'success' })).toBe(1);
    expect(await counter(aws, 'calls', { ...labels, result: 'throttled' })).toBe(0);
  } finally {
    aws.destroy();
  }
});

test('past the attempt ceiling the call fails as throttled', async () => {
  const { aws } = await awsTestContext('throttle-ceiling', { ...inject(10), maxAttempts: 2 });
  try {
    const { DescribeAutoScalingGroupsCommand } = await import('@aws-sdk/client-auto-scaling');
    const err = await aws.autoScaling.send(new DescribeAutoScalingGroupsCommand({})).catch((e: unknown) => e);
    expect(classifyAwsError(err)).toBe('throttled');
    const labels = { service: 'autoscaling', operation: 'DescribeAutoScalingGroups' };
    expect(await counter(aws, 'throttles', labels)).toBe(2);
    expect(await counter(aws, 'calls', { ...labels, result: 'throttled' })).toBe(1);
  } finally {
    aws.destroy();
  }
});
