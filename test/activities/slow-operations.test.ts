import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ENGINE_DEFECT_WORKAROUNDS } from '../../simulator/index.js';
import { activityEnvironment, inActivity, startActivityFixture, type ActivityFixture } from './fixture.js';

const NEW = '1111111111-bbb';

let fx: ActivityFixture;

before(async () => {
  // The production profile with its clock running (20 simulated seconds a second), so operations take their time.
  fx = await startActivityFixture(
    { speed: 20, behaviours: ENGINE_DEFECT_WORKAROUNDS, jobRates: [] },
    { heartbeatEveryMs: 100, pollIntervalMs: 50 },
  );
  fx.sim.control.createTemplate({ group: 'presubmit', type: 'cpu', version: NEW });
});
after(async () => {
  await fx.close();
});

describe('slow GCP operations', () => {
  test('a patch whose operation runs for minutes heartbeats throughout the wait and ends on DONE', async () => {
    // 200 simulated seconds: longer than one 2-minute wait, so the activity must wait twice.
    fx.sim.control.setFaults({
      endpoints: [{ endpoint: 'compute.regionInstanceGroupManagers.patch', operationSeconds: 200 }],
    });
    const mig = { region: 'us-west1', name: 'gh-runner-presubmit-cpu-us-west1' };
    const env = activityEnvironment({ activityId: 'canary-slow' });
    const beats: number[] = [];
    env.on('heartbeat', () => beats.push(Date.now()));
    const started = Date.now();
    const result = await inActivity(env, () =>
      fx.activities.canaryMig({ mig, template: `gh-runner-presubmit-cpu-${NEW}`, canarySize: 1 }),
    );
    const tookMs = Date.now() - started;
    assert.equal(result.applied, true);
    assert.ok(tookMs >= 9_000, `waited for the operation (${tookMs} ms for 200 simulated seconds)`);
    const waits = fx.sim.control.counters()['compute.regionOperations.wait']?.requests ?? 0;
    assert.ok(waits >= 2, `a 2-minute wait returned before DONE and was repeated (${waits} waits)`);
    // No gap between heartbeats comes near the wait itself: the worker is seen alive while GCP holds the call.
    const gaps = beats.slice(1).map((at, index) => at - (beats[index] ?? at));
    assert.ok(beats.length >= 20, `heartbeats during the wait: ${beats.length}`);
    assert.ok(Math.max(...gaps) < 1_000, `longest silence ${Math.max(...gaps)} ms`);
  });
});
