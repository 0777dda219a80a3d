/**
 * Every command that reads a fleet file, run as an operator runs it (`node bin/rollout.js` in a clone), given
 * a file with several problems: each problem on its own line with its path, exit 2 (bad input), nothing
 * started. `sim --fleet` and the worker's ROLLOUT_FLEET_FILE name their file; `dev` and `demo` read the
 * default fleet, edited here in the clone.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { DEFAULT_FLEET_PATH } from '../../runner-config/default-fleet.js';
import { copyProject, type ProcessRun, type ProjectCopy } from '../helpers/project-copy.js';

const PROBLEMS = [
  '  regions[1].name: must be a GCP region name such as us-west1',
  '  environments.prod.autoscaling.max: must be 0 or more',
  '  types[0].machineType: must be a GCP machine type such as n1-standard-16',
];

function badFleet(): string {
  const fleet = parse(readFileSync(DEFAULT_FLEET_PATH, 'utf8')) as {
    regions: { name: string }[];
    environments: { prod: { autoscaling: { max: number } } };
    types: { machineType: string }[];
  };
  (fleet.regions[1] ?? assert.fail('a second region')).name = 'US WEST 1!!';
  fleet.environments.prod.autoscaling.max = -7;
  (fleet.types[0] ?? assert.fail('a first type')).machineType = '';
  return stringify(fleet);
}

let clone: ProjectCopy;
let defaultFleetPath: string;
before(() => {
  clone = copyProject({ installed: true });
  writeFileSync(join(clone.root, 'bad.yaml'), badFleet());
  defaultFleetPath = join(clone.root, 'runner-config/fleets/default.yaml');
  writeFileSync(defaultFleetPath, badFleet());
});
after(() => clone?.remove());

function assertEveryProblem(run: ProcessRun, source: string): void {
  assert.deepEqual(run.stderr.split('\n'), [`rollout: ${source} has 3 problems:`, ...PROBLEMS, ''], run.stderr);
  assert.equal(run.code, 2);
  assert.equal(run.stdout, '', 'nothing started');
}

test('sim --fleet: every problem of the file, exit 2', async () => {
  assertEveryProblem(await clone.rollout(['sim', '--fleet', 'bad.yaml']), 'bad.yaml');
});

test("worker: every problem of ROLLOUT_FLEET_FILE's file, exit 2", async () => {
  const run = await clone.rollout(['worker'], { ROLLOUT_FLEET_FILE: 'bad.yaml', GITHUB_TOKEN: 'unused' });
  assertEveryProblem(run, 'bad.yaml');
});

test('worker: a ROLLOUT_FLEET_FILE that does not exist is named, exit 2', async () => {
  const run = await clone.rollout(['worker'], { ROLLOUT_FLEET_FILE: 'missing.yaml', GITHUB_TOKEN: 'unused' });
  assert.equal(run.stderr, 'rollout: configuration: ROLLOUT_FLEET_FILE: no such file missing.yaml\n');
  assert.equal(run.code, 2);
});

test('dev: every problem of the default fleet, exit 2, before Temporal starts', async () => {
  const stateDir = join(clone.root, '.state');
  assertEveryProblem(await clone.rollout(['dev', '--state-dir', stateDir]), defaultFleetPath);
  assert.equal(existsSync(stateDir), false, 'no state directory made');
});

test('demo: every problem of the default fleet, exit 2, before Temporal starts', async () => {
  assertEveryProblem(await clone.rollout(['demo']), defaultFleetPath);
});
