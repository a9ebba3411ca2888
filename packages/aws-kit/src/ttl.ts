/** Default cache lifetimes per kind of resource (ms). Each read helper takes an override. */
export const DEFAULT_TTL_MS = {
  /** ASGs change with every scaling activity: short. */
  autoScalingGroup: 5_000,
  /** Launch templates and versions change on a spec update: short. */
  launchTemplate: 5_000,
  /** Instance state changes constantly: short. */
  instance: 5_000,
  /** Instance types never change within a process's life. */
  instanceType: 24 * 60 * 60_000,
  /** Spot prices move hourly at most. */
  spotPrice: 5 * 60_000,
  /** An EKS cluster's version/endpoint change rarely. */
  eksCluster: 60_000,
  /** Published AMI ids change a few times a month. */
  ssmParameter: 10 * 60_000,
} as const;
