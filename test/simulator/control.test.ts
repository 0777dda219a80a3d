import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';

import { startSimulator, type SimulatorHandle, type SimState } from '../../simulator/index.js';

const START = '2026-03-02T00:00:00Z';

async function call(
  sim: SimulatorHandle,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, json: await response.json() };
}

describe('simulator: control API and model behaviour', () => {
  let sim: SimulatorHandle;

  before(async () => {
    sim = await startSimulator({ speed: 0, seed: 11, startTime: START, jobRates: [] });
  });

  after(async () => {
    await sim.close();
  });

  test('clock: speed 0 stands still; advance moves time and runs due events', async () => {
    const clock = await call(sim, 'GET', '/_sim/clock');
    assert.equal((clock.json as { now: string }).now, new Date(START).toISOString());
    const advanced = await call(sim, 'POST', '/_sim/clock/advance', { seconds: 90 });
    assert.equal(advanced.status, 200);
    assert.equal((advanced.json as { now: string }).now, '2026-03-02T00:01:30.000Z');
    const bad = await call(sim, 'POST', '/_sim/clock/advance', { seconds: -5 });
    assert.equal(bad.status, 400);
    assert.match((bad.json as { error: string }).error, /seconds/);
  });

  test('faults: validated, replaced, patched and cleared over HTTP', async () => {
    const invalid = await call(sim, 'PUT', '/_sim/faults', { endpoints: [{ endpoint: 'x', errorRate: 2 }] });
    assert.equal(invalid.status, 400);
    assert.match((invalid.json as { error: string }).error, /errorRate/);
    const set = await call(sim, 'PUT', '/_sim/faults', { latencyMs: 5, bootloopTemplates: ['t'] });
    assert.deepEqual((set.json as { bootloopTemplates: string[] }).bootloopTemplates, ['t']);
    const patched = await call(sim, 'PATCH', '/_sim/faults', { neverRegisterTemplates: ['u'] });
    assert.deepEqual((patched.json as { bootloopTemplates: string[] }).bootloopTemplates, ['t']);
    assert.deepEqual((patched.json as { neverRegisterTemplates: string[] }).neverRegisterTemplates, ['u']);
    const cleared = await call(sim, 'DELETE', '/_sim/faults');
    assert.equal((cleared.json as { latencyMs: number }).latencyMs, 0);
  });

  test('templates, releases and jobs through HTTP; unknown routes are 404 JSON', async () => {
    const template = await call(sim, 'POST', '/_sim/templates', {
      group: 'presubmit',
      type: 'cpu',
      version: 'abcdef0123-x1y',
      runnerVersion: '2.340.0',
    });
    assert.equal(template.status, 201);
    assert.equal((template.json as { name: string }).name, 'gh-runner-presubmit-cpu-abcdef0123-x1y');
    assert.equal((template.json as { metadata: Record<string, string> }).metadata['github-runner-version'], '2.340.0');
    assert.equal(
      (await call(sim, 'POST', '/_sim/templates', { group: 'presubmit', type: 'cpu', version: 'abcdef0123-x1y' }))
        .status,
      409,
    );
    assert.equal(
      (await call(sim, 'POST', '/_sim/templates', { group: 'nightly', type: 'cpu', version: 'abcdef0123-x1y' })).status,
      400,
    );

    const release = await call(sim, 'POST', '/_sim/releases', { version: '2.340.0', security: true });
    assert.equal(release.status, 201);
    assert.equal((await call(sim, 'POST', '/_sim/releases', { version: 'v2' })).status, 400);

    const rates = await call(sim, 'PUT', '/_sim/jobs/rates', {
      rates: [{ environment: 'testing', perHour: 3, meanDurationMinutes: 5 }],
    });
    assert.equal(rates.status, 200);
    const submitted = await call(sim, 'POST', '/_sim/jobs', {
      environment: 'prod',
      group: 'presubmit',
      type: 'gpu',
      count: 2,
    });
    assert.equal(submitted.status, 201);
    assert.equal((submitted.json as { jobs: unknown[] }).jobs.length, 2);
    assert.equal(
      (await call(sim, 'POST', '/_sim/jobs', { environment: 'prod', group: 'presubmit', type: 'tpu' })).status,
      404,
    );
    assert.equal((await call(sim, 'GET', '/_sim/nothing')).status, 404);
    assert.equal((await call(sim, 'GET', '/_sim/migs/gh-runner-presubmit-cpu-us-west1')).status, 200);
    const state = (await call(sim, 'GET', '/_sim/state')).json as SimState;
    assert.equal(state.migs.length, 40);
    assert.ok(state.templates.some((candidate) => candidate.name === 'gh-runner-presubmit-cpu-abcdef0123-x1y'));
  });

  test('counters and mutation log over HTTP', async () => {
    // GCP resizes an autoscaled MIG only with its autoscaler off.
    await fetch(
      `${sim.url}/compute/v1/projects/iree-oss/regions/us-west1/autoscalers?autoscaler=gh-runner-presubmit-cpu-us-west1`,
      {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'gh-runner-presubmit-cpu-us-west1', autoscalingPolicy: { mode: 'OFF' } }),
      },
    );
    await fetch(
      `${sim.url}/compute/v1/projects/iree-oss/regions/us-west1/instanceGroupManagers/gh-runner-presubmit-cpu-us-west1/resize?size=3`,
      {
        method: 'POST',
        body: '""',
      },
    );
    const counters = (await call(sim, 'GET', '/_sim/counters')).json as {
      counters: Record<string, { requests: number }>;
    };
    assert.equal(counters.counters['compute.regionInstanceGroupManagers.resize']?.requests, 1);
    const log = (await call(sim, 'GET', '/_sim/mutations?endpoint=compute.*')).json as {
      mutations: Array<{ seq: number; effective: boolean }>;
    };
    assert.equal(log.mutations.length, 2);
    assert.deepEqual(
      log.mutations.map((mutation) => mutation.effective),
      [true, true],
    );
    const since = (await call(sim, 'GET', `/_sim/mutations?since=${log.mutations[1]?.seq ?? 0}`)).json as {
      mutations: unknown[];
    };
    assert.deepEqual(since.mutations, []);
    await call(sim, 'DELETE', '/_sim/counters');
    assert.deepEqual(((await call(sim, 'GET', '/_sim/counters')).json as { counters: object }).counters, {});
  });
});

describe('simulator: fleet model scenarios', () => {
  test('the same seed gives the same run', async () => {
    const run = async (): Promise<unknown> => {
      const sim = await startSimulator({ speed: 0, seed: 5, startTime: START });
      try {
        sim.control.advance(6 * 3600);
        const state = sim.control.state();
        return { migs: state.migs, jobs: state.jobs.byTemplate, recent: state.jobs.recent };
      } finally {
        await sim.close();
      }
    };
    const [a, b] = [await run(), await run()];
    assert.deepEqual(a, b);
    assert.ok((a as { recent: unknown[] }).recent.length > 10, 'jobs ran');
  });

  test('a repair recreates an instance on its old template even while an update is pending', async () => {
    const sim = await startSimulator({ speed: 0, seed: 2, startTime: START, jobRates: [] });
    try {
      const name = 'gh-runner-testing-presubmit-cpu-us-west1';
      const old = 'gh-runner-presubmit-cpu-0000000000-aaa';
      const mig = sim.model.migs.get(name);
      assert.ok(mig);
      sim.control.setFaults({ bootloopTemplates: [old] });
      sim.model.patchAutoscaler(mig, { min: 1, max: 1 });
      sim.control.advance(120);
      const created = sim.control.mig(name).instances[0];
      assert.equal(created?.template, old);
      const next = sim.control.createTemplate({ group: 'presubmit', type: 'cpu', version: '4444444444-eee' });
      sim.model.patchMig(mig, { versions: [{ name: 'base', template: next.name }] });
      sim.control.advance(600);
      const [instance] = sim.control.mig(name).instances;
      assert.equal(instance?.name, created.name);
      assert.equal(instance.template, old, 'the repair used the template the VM was created with');
      assert.ok(instance.recreations > 0);
      assert.equal(sim.control.mig(name).versionTargetReached, false);
    } finally {
      await sim.close();
    }
  });

  test('a zone stockout: EVEN keeps retrying in its zone, BALANCED creates elsewhere', async () => {
    const sim = await startSimulator({ speed: 0, seed: 2, startTime: START, jobRates: [] });
    try {
      const zones = ['us-west1-a', 'us-west1-b'];
      sim.control.setFaults({ stockouts: zones.map((zone) => ({ zone, type: 'a100' })) });
      const a100 = sim.model.migs.get('gh-runner-testing-presubmit-a100-us-west1');
      assert.ok(a100 && a100.shape === 'BALANCED');
      sim.model.patchAutoscaler(a100, { min: 3, max: 3 });
      sim.control.advance(600);
      const view = sim.control.mig(a100.name);
      assert.deepEqual(
        view.instances.map((instance) => instance.zone),
        ['us-west1-c', 'us-west1-c', 'us-west1-c'],
      );
      assert.equal(view.isStable, true);

      sim.control.setFaults({ stockouts: [{ zone: 'us-west1-a' }] });
      const cpu = sim.model.migs.get('gh-runner-testing-postsubmit-cpu-us-west1');
      assert.ok(cpu && cpu.shape === 'EVEN');
      sim.model.patchAutoscaler(cpu, { min: 3, max: 3 });
      sim.control.advance(600);
      const stuck = sim.control.mig(cpu.name).instances.filter((instance) => instance.status === null);
      assert.equal(stuck.length, 1);
      assert.equal(stuck[0]?.lastAttemptErrors[0]?.code, 'ZONE_RESOURCE_POOL_EXHAUSTED');
      assert.equal(sim.control.mig(cpu.name).isStable, false);
      sim.control.clearFaults();
      sim.control.advance(600);
      assert.equal(sim.control.mig(cpu.name).isStable, true);
    } finally {
      await sim.close();
    }
  });

  test('runners that never register: the VM runs and looks healthy but no runner appears', async () => {
    const sim = await startSimulator({ speed: 0, seed: 2, startTime: START, jobRates: [] });
    try {
      const mig = sim.model.migs.get('gh-runner-testing-postsubmit-gpu-us-west1');
      assert.ok(mig);
      sim.control.setFaults({ neverRegisterTemplates: ['gh-runner-postsubmit-gpu-0000000000-aaa'] });
      sim.model.patchAutoscaler(mig, { min: 2, max: 2 });
      sim.control.advance(900);
      const view = sim.control.mig(mig.name);
      assert.deepEqual(
        view.instances.map((instance) => [instance.status, instance.currentAction, instance.runner]),
        [
          ['RUNNING', 'NONE', null],
          ['RUNNING', 'NONE', null],
        ],
      );
    } finally {
      await sim.close();
    }
  });

  test('jobs arrive at the configured rate and the autoscaler scales out within max', async () => {
    const sim = await startSimulator({
      speed: 0,
      seed: 9,
      startTime: START,
      jobRates: [{ environment: 'testing', group: 'presubmit', type: 'cpu', perHour: 120, meanDurationMinutes: 60 }],
    });
    try {
      const mig = sim.model.migs.get('gh-runner-testing-presubmit-cpu-us-west1');
      assert.ok(mig);
      sim.model.patchAutoscaler(mig, { min: 1, max: 4 });
      sim.control.advance(2 * 3600);
      const view = sim.control.mig(mig.name);
      assert.equal(view.autoscaler.recommendedSize, 4);
      assert.ok(view.targetSize <= 4 && view.targetSize >= 3, `target size ${view.targetSize}`);
      const pool = sim.control.jobs().pools.find((candidate) => candidate.pool === 'testing/presubmit/cpu');
      assert.ok((pool?.queued ?? 0) > 0, 'demand beyond max stays queued');
      assert.ok((sim.control.jobs().byTemplate['gh-runner-presubmit-cpu-0000000000-aaa']?.succeeded ?? 0) > 0);
    } finally {
      await sim.close();
    }
  });

  test('`rollout sim` prints its URL and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['bin/rollout.js', 'sim', '--port', '0', '--speed', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8');
    const ready = new Promise<string>((resolve) => {
      child.stdout.on('data', (chunk: string) => {
        output += chunk;
        const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(output);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
    });
    const url = await ready;
    const response = await fetch(`${url}/_sim/clock`);
    assert.equal(response.status, 200);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
  });

  test('`rollout sim` refuses a bad flag value with one clear line', async () => {
    const child = spawn(process.execPath, ['bin/rollout.js', 'sim', '--speed', 'fast'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.equal(stderr, "rollout: option '--speed <x>' argument 'fast' is invalid. must be a number, 0 or more\n");
  });
});
