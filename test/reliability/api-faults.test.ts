/**
 * A rollout completes through unreliable cloud APIs: 10% of Compute and GitHub calls fail (5xx, 403
 * rateLimitExceeded / secondary rate limit, 429, and 504 gateway timeouts: a request the API gave up on) and every
 * answer is slowed; the fleet ends exactly as a clean rollout leaves it, and no MIG is patched more than a clean
 * rollout patches it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { EndpointFault } from '../../simulator/index.js';
import { seedVersionTemplates } from '../../devstack/simulator.js';
import { SIMULATOR_ACTIVITY_TIMING } from '../../devstack/timing.js';
import { startRollout } from '../../testbed/rollouts.js';
import {
  effectivePatchesByMig,
  fleetOutcome,
  jobsKilledByTheEngine,
  startE2eStack,
  type E2eStack,
} from '../helpers/e2e-stack.js';
import { FULL, SCENARIO_SIMULATOR, expectedOutcome, rolloutOutcome, rolloutState, scenarioInput } from './scenario.js';

const FAILURE_RATE = 0.1;
const LATENCY_MS = FULL ? 50 : 10;
/**
 * The first calls of each API fail whatever the draws: a rollout on one MIG per role makes few GitHub calls
 * (a few dozen), too few for the drawn failures alone to prove the rules matched them.
 */
const CERTAIN_FAILURES = 2;

/**
 * One rule per failure kind, each drawn after the one before, so that together `rate` of the calls fail, behind
 * a rule that fails the first calls outright.
 */
function failures(api: 'compute' | 'github', rate: number): EndpointFault[] {
  const serverError = api === 'compute' ? 503 : 502;
  const statuses = [serverError, 403, 429, 504];
  const each = 1 - (1 - rate) ** (1 / statuses.length);
  return [
    { endpoint: `${api}.*`, status: serverError, count: CERTAIN_FAILURES },
    ...statuses.map((status) => ({ endpoint: `${api}.*`, errorRate: each, status })),
  ];
}

/**
 * The fewest failures `calls` requests can see when the rules match them: the certain ones, and the drawn ones
 * four standard deviations below their mean (a binomial count falls below that less than once in 30,000 runs).
 */
function fewestFailures(calls: number, rate: number): number {
  const drawn = Math.max(0, calls - CERTAIN_FAILURES);
  const mean = drawn * rate;
  return CERTAIN_FAILURES + Math.max(0, Math.floor(mean - 4 * Math.sqrt(mean * (1 - rate))));
}

let stack: E2eStack;
before(async () => {
  // Reads retried within an attempt pause a second first in production; a tenth here, as polls are compressed.
  stack = await startE2eStack({
    simulator: SCENARIO_SIMULATOR,
    activityTiming: { ...SIMULATOR_ACTIVITY_TIMING, callRetryDelayMs: 100 },
  });
});
after(async () => {
  await stack?.close();
});

test('10% of API calls fail and all are slower: the rollout completes with the clean result', async (t) => {
  const version = 'fa17fa17fa-flt';
  seedVersionTemplates(stack.simulator, version);
  const before = fleetOutcome(stack.simulator);
  stack.simulator.control.setFaults({
    endpoints: [...failures('compute', FAILURE_RATE), ...failures('github', FAILURE_RATE)],
    latencyMs: LATENCY_MS,
  });
  // Every failed attempt waits out Temporal's retry backoff (seconds), so the CI form keeps one MIG per role.
  const handle = await startRollout(
    stack,
    scenarioInput(version, { autoApprove: true, ...(FULL ? {} : { types: 'cpu|a100' }) }),
  );
  const result = await handle.result();
  const state = await rolloutState(handle);
  stack.simulator.control.clearFaults();

  assert.equal(result.outcome, 'completed', result.evidence.join('\n'));
  assert.deepEqual(rolloutOutcome(stack, state), expectedOutcome(before, state));
  // One patch per direct or testing MIG, two per canaried MIG (canary, promote): retries never re-applied one.
  const expectedPatches = Object.fromEntries(
    state.migs.map((mig) => [mig.name, mig.role === 'canary' ? 2 : 1] as const),
  );
  assert.deepEqual(effectivePatchesByMig(stack.simulator), expectedPatches);
  assert.deepEqual(jobsKilledByTheEngine(stack.simulator), []);

  const counters = stack.simulator.control.counters();
  const injected = (api: string): { calls: number; failed: number } =>
    Object.entries(counters)
      .filter(([endpoint]) => endpoint.startsWith(`${api}.`))
      .reduce(
        (sum, [, counter]) => ({ calls: sum.calls + counter.requests, failed: sum.failed + counter.injectedFaults }),
        { calls: 0, failed: 0 },
      );
  const compute = injected('compute');
  const github = injected('github');
  t.diagnostic(`compute: ${compute.failed}/${compute.calls} failed; github: ${github.failed}/${github.calls} failed`);
  // Far below the rate, the rules did not match what the rollout called.
  for (const [api, counts] of [
    ['compute', compute],
    ['github', github],
  ] as const) {
    const fewest = fewestFailures(counts.calls, FAILURE_RATE);
    assert.ok(counts.failed >= fewest, `${api}: ${counts.failed}/${counts.calls} failed, fewer than ${fewest}`);
  }
});
