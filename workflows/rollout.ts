import type { RolloutInput, RolloutPlan, RolloutResult } from './rollout-contract.js';
import { installHandlers } from './rollout-handlers.js';
import { makePlan, preflight, preflightFailure, releaseMigWorkers } from './rollout-preflight.js';
import { RolloutRun } from './rollout-run.js';
import {
  canaryStage,
  convergeStage,
  finish,
  promoteStage,
  soakStage,
  stopAndRollBack,
  testStage,
} from './rollout-stages.js';

/** Computes the plan and every preflight problem without changing anything (`rollout start --plan`). */
export async function planRollout(input: RolloutInput): Promise<RolloutPlan> {
  return makePlan(input);
}

/**
 * A rollout of one version across the fleet: plan and preflight, test group, prod canary, soak with health gates,
 * promote, converge. Steered by the updates/signals of rollout-controls-contract.ts; see there for the message scheme.
 */
export async function rollout(input: RolloutInput): Promise<RolloutResult> {
  const run = new RolloutRun(input);
  installHandlers(run);
  return execute(run);
}

async function execute(run: RolloutRun): Promise<RolloutResult> {
  if (run.state.stage === 'preflight') await preflight(run);
  run.refreshDetails();
  for (;;) {
    if (run.stopping) return stopAndRollBack(run);
    switch (run.state.stage) {
      case 'failed-preflight':
        // A run that continued as new while releasing the MIGs of a failed preflight.
        await releaseMigWorkers(run);
        throw preflightFailure(run.state.problems);
      case 'test':
        await testStage(run);
        break;
      case 'canary':
        await canaryStage(run);
        break;
      case 'soak':
        await soakStage(run);
        break;
      case 'promote':
        await promoteStage(run);
        break;
      case 'converge':
        await convergeStage(run);
        break;
      default:
        if (run.stopping) return stopAndRollBack(run);
        return finish(run, 'completed');
    }
  }
}
