import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { DEFAULT_FLEET_PATH, defaultFleet, loadFleetFile } from '../../runner-config/default-fleet.js';
import { FleetConfigError, parseFleet, type FleetFile, type FleetIssue } from '../../runner-config/index.js';
import { fleetJsonSchemaText } from '../../runner-config/json-schema.js';

const defaultText = readFileSync(DEFAULT_FLEET_PATH, 'utf8');

/** The default fleet file as data, changed by `edit`, written back as YAML. */
function editedFleet(edit: (file: FleetFile) => void): string {
  const file = parse(defaultText) as FleetFile;
  edit(file);
  return stringify(file);
}

function errorsOf(text: string): FleetIssue[] {
  const result = parseFleet(text);
  assert.equal(result.ok, false, 'expected the fleet file to be refused');
  return result.ok ? [] : result.errors;
}

describe('parseFleet', () => {
  test('the default fleet is valid and has no warnings', () => {
    const result = parseFleet(defaultText);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.warnings, []);
    assert.equal(result.fleet.project, 'iree-oss');
    assert.deepEqual(
      result.fleet.types.map((type) => [type.name, type.rolloutPolicy, type.distributionShape, type.arch]),
      [
        ['cpu', 'canary', 'EVEN', 'x64'],
        ['gpu', 'canary', 'EVEN', 'x64'],
        ['a100', 'direct', 'BALANCED', 'x64'],
        ['arm64', 'canary', 'EVEN', 'arm64'],
      ],
    );
    assert.deepEqual(result.fleet.environments.testing.testAutoscaling, { min: 1, max: 10 });
    assert.deepEqual(result.fleet.environments.prod.testAutoscaling, result.fleet.environments.prod.autoscaling);
  });

  test('defaultFleet() returns the parsed default file', () => {
    const result = parseFleet(defaultText);
    assert.ok(result.ok);
    assert.deepEqual(defaultFleet(), result.fleet);
  });

  test('ten mistakes at once are all reported with their paths, and no fleet is returned', () => {
    const text = editedFleet((file) => {
      file.project = 'IREE OSS';
      file.services.tokenProxyUrl = 'ftp://token-proxy';
      file.environments.prod.regions.push('eu-north9');
      file.environments.testing.testAutoscaling = { min: 5, max: 2 };
      file.types[1]!.name = 'gpuwithalongername123';
      file.types[0]!.machineType = 'N1 STANDARD';
      file.types[2]!.firstRegion = 'us-south1';
      file.types[3]!.name = 'a100';
      file.runner.archiveDigests.x64 = 'abc';
      file.rollout.defaultSoak = 'three days';
    });
    const result = parseFleet(text);
    assert.equal(result.ok, false);
    assert.ok(!('fleet' in result), 'a refused fleet file must not yield a partial fleet');
    const byPath = new Map(result.errors.map((issue) => [issue.path, issue.message]));
    const expected: [string, RegExp][] = [
      ['project', /GCP project id/],
      ['services.tokenProxyUrl', /must be an http\(s\) URL/],
      ['environments.prod.regions[4]', /unknown region "eu-north9"/],
      ['environments.testing.testAutoscaling', /min \(5\) is greater than max \(2\)/],
      ['types[1].name', /instance template name .* GCP allows at most 63/],
      ['types[0].machineType', /machine type/],
      ['types[2].firstRegion', /"us-south1" is not a prod region/],
      ['types[3].name', /duplicate name "a100" \(also types\[2\]\)/],
      ['runner.archiveDigests.x64', /64 lowercase hex digits/],
      ['rollout.defaultSoak', /"three days" is not a duration/],
    ];
    for (const [path, message] of expected) assert.match(byPath.get(path) ?? '(not reported)', message, path);
    assert.equal(result.errors.length, expected.length, JSON.stringify(result.errors, null, 2));
  });

  test('unknown sections and fields are errors, missing fields say they are required', () => {
    const errors = errorsOf(
      editedFleet((file) => {
        const cpu = file.types[0]!;
        Object.assign(file, { regoins: [] });
        Object.assign(cpu, { machineTyp: cpu.machineType, machineType: undefined });
      }),
    );
    assert.deepEqual(
      errors.map((issue) => issue.path),
      ['regoins', 'types[0].machineType', 'types[0].machineTyp'],
    );
    assert.match(errors[0]?.message ?? '', /unknown section/);
    assert.equal(errors[1]?.message, 'is required');
    assert.equal(errors[2]?.message, 'unknown field');
  });

  test('cross-field rules', () => {
    const errors = errorsOf(
      editedFleet((file) => {
        file.regions[0]!.zones.push('us-west1-a');
        file.groups[0]!.name = 'testing';
        file.groups[1]!.allowedEvents.push('pushh');
        file.types[0]!.distributionShape = 'BALANCED';
        file.types[1]!.maintenancePolicy = 'MIGRATE';
        delete file.types[2]!.firstRegion;
      }),
    );
    assert.deepEqual(
      errors.map((issue) => `${issue.path}: ${issue.message}`),
      [
        'regions[0].zones[3]: zone "us-west1-a" is not in region us-central1',
        'groups[0].name: group name "testing" is an environment name; MIG names would be ambiguous',
        'types[0].distributionShape: BALANCED MIGs cannot hold two versions; use rolloutPolicy direct or EVEN',
        'types[2].firstRegion: a direct-update type needs the prod region it is updated in first',
        'types[1].maintenancePolicy: VMs with an accelerator cannot live-migrate; use TERMINATE',
        'groups[1].allowedEvents[6]: "pushh" is not a GitHub Actions event',
      ],
    );
  });

  test('warnings do not stop a fleet', () => {
    const result = parseFleet(
      editedFleet((file) => {
        file.groups[1]!.allowedEvents.push('pull_request');
        file.environments.testing.autoscaling = { min: 0, max: 2 };
        file.types[0]!.firstRegion = 'us-west1';
      }),
    );
    assert.ok(result.ok);
    assert.deepEqual(
      result.warnings.map((issue) => issue.path),
      ['environments.testing.autoscaling', 'types[0].firstRegion', 'groups[1].allowedEvents[6]'],
    );
  });

  test('YAML syntax errors and non-mapping documents are reported', () => {
    assert.match(errorsOf('project: [unclosed\n')[0]?.message ?? '', /flow sequence|Missing|unclosed|,/i);
    assert.match(errorsOf('- just\n- a list\n')[0]?.message ?? '', /must be a mapping/);
    assert.match(errorsOf('a: 1\na: 2\n')[0]?.message ?? '', /unique/i);
  });

  test('JSON fleet files parse too', () => {
    const result = parseFleet(JSON.stringify(parse(defaultText)));
    assert.ok(result.ok);
  });
});

describe('pools in the fleet file', () => {
  type PoolEntry = NonNullable<FleetFile['pools']>[number];
  const withPools = (...pools: PoolEntry[]) => editedFleet((file) => Object.assign(file, { pools }));

  test('without a pools section the fleet has none; entries are normalised with warm defaulting to 0', () => {
    const plain = parseFleet(defaultText);
    assert.ok(plain.ok);
    assert.equal(plain.fleet.pools, undefined);
    assert.ok(!('pools' in plain.fleet), 'a fleet without pools is the definition it was before pools existed');
    const result = parseFleet(
      withPools(
        { environment: 'prod', group: 'presubmit', type: 'gpu', mode: 'queue', min: 0, max: 8, warm: 1 },
        { environment: 'prod', group: 'postsubmit', type: 'gpu', mode: 'queue', min: 1, max: 4 },
        { environment: 'testing', group: 'presubmit', type: 'cpu', mode: 'off' },
      ),
    );
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(result.fleet.pools, [
      { environment: 'prod', group: 'presubmit', type: 'gpu', mode: 'queue', bounds: { min: 0, max: 8 }, warm: 1 },
      { environment: 'prod', group: 'postsubmit', type: 'gpu', mode: 'queue', bounds: { min: 1, max: 4 }, warm: 0 },
      { environment: 'testing', group: 'presubmit', type: 'cpu', mode: 'off' },
    ]);
  });

  test('each field a pool entry can get wrong is reported at its path', () => {
    const errors = errorsOf(
      withPools(
        { environment: 'staging', group: 'presubmit', type: 'gpu', mode: 'off' } as unknown as PoolEntry,
        { environment: 'prod', group: 'presubmit', type: 'gpu', mode: 'queue', max: 8 } as unknown as PoolEntry,
        { environment: 'prod', group: 'presubmit', type: 'gpu', mode: 'sometimes' } as unknown as PoolEntry,
        { environment: 'prod', group: 'presubmit', type: 'gpu', mode: 'off', min: 1 } as unknown as PoolEntry,
        { environment: 'prod', group: 'presubmit', type: 'gpu', mode: 'queue', min: -1, max: 2 },
      ),
    );
    assert.deepEqual(
      errors.map((issue) => `${issue.path}: ${issue.message}`),
      [
        'pools[0].environment: Invalid option: expected one of "prod"|"testing"',
        'pools[1].min: is required',
        'pools[2].mode: must have mode "off" or "queue"',
        'pools[3].min: unknown field',
        'pools[4].min: must be 0 or more',
      ],
    );
  });

  test('rules: known group and type, one entry per pool, min ≤ max, warm within max', () => {
    const errors = errorsOf(
      withPools(
        { environment: 'prod', group: 'nightly', type: 'tpu', mode: 'off' },
        { environment: 'prod', group: 'presubmit', type: 'gpu', mode: 'queue', min: 5, max: 2 },
        { environment: 'prod', group: 'presubmit', type: 'gpu', mode: 'queue', min: 0, max: 2, warm: 3 },
      ),
    );
    assert.deepEqual(
      errors.map((issue) => `${issue.path}: ${issue.message}`),
      [
        'pools[0].group: unknown runner group "nightly" (known: presubmit, postsubmit)',
        'pools[0].type: unknown runner type "tpu" (known: cpu, gpu, a100, arm64)',
        'pools[1]: min (5) is greater than max (2)',
        'pools[2]: pool prod/presubmit/gpu is listed twice (also pools[1])',
        'pools[2].warm: warm (3) is more than max (2): the pool can never keep that many idle',
      ],
    );
  });

  test('a queue pool in an environment without regions is a warning: it has no MIGs', () => {
    const result = parseFleet(
      editedFleet((file) => {
        file.environments.testing.regions = [];
        Object.assign(file, {
          pools: [{ environment: 'testing', group: 'presubmit', type: 'cpu', mode: 'queue', min: 0, max: 2 }],
        });
      }),
    );
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(
      result.warnings.map((issue) => `${issue.path}: ${issue.message}`),
      ['pools[0]: testing has no regions, so pool testing/presubmit/cpu has no MIGs to size'],
    );
  });
});

describe('loadFleetFile', () => {
  test('throws a FleetConfigError listing every problem on its own line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-'));
    try {
      const path = join(dir, 'fleet.yaml');
      await writeFile(
        path,
        editedFleet((file) => {
          file.project = 'X';
          file.rollout.canarySize = 0;
        }),
      );
      await assert.rejects(loadFleetFile(path), (error: unknown) => {
        assert.ok(error instanceof FleetConfigError);
        const lines = error.message.split('\n');
        assert.equal(lines[0], `${path} has 2 problems:`);
        assert.match(lines[1] ?? '', /^ {2}project: must be a GCP project id/);
        assert.match(lines[2] ?? '', /^ {2}rollout\.canarySize: must be at least 1/);
        return true;
      });
      await writeFile(path, defaultText);
      assert.deepEqual(await loadFleetFile(path), defaultFleet());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test('the committed fleet.schema.json is current (regenerate with npm run schema)', () => {
  const committed = readFileSync(new URL('../../runner-config/fleet.schema.json', import.meta.url), 'utf8');
  assert.equal(committed, fleetJsonSchemaText(), 'runner-config/fleet.schema.json is stale: run `npm run schema`');
});
