/** Every workflow of the project: the worker registers this module. */
export * from './mig-worker.js';
export * from './operations.js';
export * from './pool-controller.js';
export * from './rollout.js';
export * from './runner-version-check.js';
