/** The controller as a library: what main.ts and the benchmark wire into a Manager. */
export { countAwsCalls, countingAwsCalls } from './aws-calls.js';
export { FINALIZER, type InstanceGroupControllerOptions, instanceGroupController } from './instancegroup.js';
