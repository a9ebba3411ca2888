/**
 * SDK middleware that feeds {@link AwsMetrics}: one around the whole call (result and latency,
 * retries included) and one around each attempt, inside the retry loop (throttled attempts).
 */
import type {
  FinalizeRequestMiddleware,
  HandlerExecutionContext,
  InitializeMiddleware,
  MiddlewareStack,
} from '@smithy/types';
import { classifyAwsError } from './errors.js';
import type { AwsMetrics } from './metrics.js';

/** `DescribeAutoScalingGroupsCommand` -> `DescribeAutoScalingGroups`. */
export function operationName(context: HandlerExecutionContext): string {
  return (context.commandName ?? 'Unknown').replace(/Command$/, '');
}

/** Any SDK v3 client (they differ only in their input/output type parameters). */
export interface InstrumentableClient {
  // biome-ignore lint/suspicious/noExplicitAny: the clients' stacks differ in their type parameters
  middlewareStack: MiddlewareStack<any, any>;
}

export function instrumentClient(client: InstrumentableClient, service: string, metrics: AwsMetrics): void {
  // biome-ignore lint/suspicious/noExplicitAny: shared by every client's input/output types
  const call: InitializeMiddleware<any, any> = (next, context) => async (args) => {
    const operation = operationName(context);
    const stop = metrics.latency.startTimer({ service, operation });
    try {
      const out = await next(args);
      metrics.calls.inc({ service, operation, result: 'success' });
      return out;
    } catch (err) {
      metrics.calls.inc({ service, operation, result: classifyAwsError(err) });
      throw err;
    } finally {
      stop();
    }
  };
  // biome-ignore lint/suspicious/noExplicitAny: shared by every client's input/output types
  const attempt: FinalizeRequestMiddleware<any, any> = (next, context) => async (args) => {
    const operation = operationName(context);
    metrics.attempts.inc({ service, operation });
    try {
      return await next(args);
    } catch (err) {
      if (classifyAwsError(err) === 'throttled') metrics.throttles.inc({ service, operation });
      throw err;
    }
  };
  client.middlewareStack.add(call, {
    step: 'initialize',
    priority: 'high',
    name: 'keikoCallMetrics',
    override: true,
  });
  // Inside the retry loop: each attempt is seen, not only the call's final outcome.
  client.middlewareStack.addRelativeTo(attempt, {
    relation: 'after',
    toMiddleware: 'retryMiddleware',
    name: 'keikoAttemptMetrics',
    override: true,
  });
}
