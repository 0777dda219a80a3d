/**
 * The engine's activities as workflows call them: one proxy for each kind of call, each with its own timeouts and
 * retries. Workflows share them so that a kind of call behaves the same from the rollout, a MIG worker or a pool.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { EngineActivities } from '../activities/contract.js';
import { drainOptions, healthRoundOptions, mutationOptions, readOptions } from './activity-options.js';

export const reads = proxyActivities<EngineActivities>(readOptions);
export const mutations = proxyActivities<EngineActivities>(mutationOptions);
export const drains = proxyActivities<EngineActivities>(drainOptions);
export const healthRounds = proxyActivities<EngineActivities>(healthRoundOptions);
