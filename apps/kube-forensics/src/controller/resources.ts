/** Built-in kinds the controller reads and writes, beyond operator-kit's CoreResources. */
import type { Resource } from '@keiko/operator-kit';

export const Jobs = {
  group: 'batch',
  version: 'v1',
  plural: 'jobs',
  kind: 'Job',
  namespaced: true,
} as const satisfies Resource;
