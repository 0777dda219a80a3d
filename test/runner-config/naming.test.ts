import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultFleet } from '../../runner-config/default-fleet.js';
import {
  ENVIRONMENTS,
  enumerateMigs,
  GCP_NAME_MAX_LENGTH,
  migName,
  NamingError,
  parseMigName,
  parseVersion,
  templateName,
  versionProblem,
  versionTemplates,
} from '../../runner-config/index.js';

describe('MIG names', () => {
  const fleet = defaultFleet();

  test('every MIG of the default fleet round-trips through its name', () => {
    for (const environment of ENVIRONMENTS) {
      const refs = enumerateMigs(fleet, environment);
      assert.ok(refs.length > 0);
      for (const ref of refs) {
        const name = migName(fleet.namePrefix, ref);
        const parsed = parseMigName(fleet.namePrefix, name);
        assert.deepEqual(parsed, ref, name);
        assert.equal(migName(fleet.namePrefix, parsed), name);
      }
    }
  });

  test('the default fleet has 32 prod and 8 testing MIGs with the documented names', () => {
    const prod = enumerateMigs(fleet, 'prod').map((ref) => migName(fleet.namePrefix, ref));
    const testing = enumerateMigs(fleet, 'testing').map((ref) => migName(fleet.namePrefix, ref));
    assert.equal(new Set(prod).size, 32);
    assert.equal(new Set(testing).size, 8);
    assert.ok(prod.includes('gh-runner-postsubmit-a100-us-central1'));
    assert.ok(testing.includes('gh-runner-testing-presubmit-cpu-us-west1'));
  });

  test('names outside the scheme do not parse', () => {
    assert.equal(parseMigName('gh-runner', 'github-runner-presubmit-cpu-us-west1'), undefined);
    assert.equal(parseMigName('gh-runner', 'gh-runner-presubmit-cpu'), undefined);
    assert.equal(parseMigName('gh-runner', 'gh-runner-testing-presubmit-cpu-uswest1'), undefined);
  });

  test('a name over 63 characters is refused with a clear error', () => {
    const ref = {
      environment: 'testing',
      group: 'postsubmit',
      type: 't'.repeat(23),
      region: 'us-central1',
    } as const;
    assert.throws(
      () => migName('gh-runner', ref),
      (error: unknown) =>
        error instanceof NamingError &&
        /MIG name "gh-runner-testing-postsubmit-t{23}-us-central1" is 64 characters; GCP allows at most 63/.test(
          error.message,
        ),
    );
    assert.equal(GCP_NAME_MAX_LENGTH, 63);
  });
});

describe('template names', () => {
  test('carry no environment, so one template serves testing and prod', () => {
    assert.equal(
      templateName('gh-runner', 'presubmit', 'cpu', '56e40f6505-9lp'),
      'gh-runner-presubmit-cpu-56e40f6505-9lp',
    );
    assert.equal(
      templateName('gh-runner', 'postsubmit', 'arm64', '56e40f6505-9lp-testing'),
      'gh-runner-postsubmit-arm64-56e40f6505-9lp-testing',
    );
  });

  test('the 63-character limit is enforced', () => {
    const version = '56e40f6505-9lp-testing';
    assert.equal(templateName('gh-runner', 'postsubmit', 't'.repeat(19), version).length, 63);
    assert.throws(() => templateName('gh-runner', 'postsubmit', 't'.repeat(20), version), /64 characters/);
  });

  test('a version has one template per group and type', () => {
    const names = versionTemplates(defaultFleet(), '56e40f6505-9lp').map((template) => template.name);
    assert.equal(names.length, 8);
    assert.ok(names.includes('gh-runner-postsubmit-a100-56e40f6505-9lp'));
  });
});

describe('versions', () => {
  test('accepts <10 hex>-<3 [a-z0-9]>[-testing]', () => {
    for (const good of ['56e40f6505-9lp', '0123456789-abc-testing', 'ffffffffff-000']) {
      assert.equal(versionProblem(good), undefined, good);
    }
    assert.deepEqual(parseVersion('56e40f6505-9lp-testing'), { configRef: '56e40f6505', suffix: '9lp', testing: true });
    assert.deepEqual(parseVersion('56e40f6505-9lp'), { configRef: '56e40f6505', suffix: '9lp', testing: false });
  });

  test('refuses everything else with the expected shape in the message', () => {
    for (const bad of [
      '56e40f650-9lp',
      '56E40F6505-9lp',
      '56e40f6505-9LP',
      '56e40f6505-9lpx',
      '56e40f6505-9lp-prod',
      'g6e40f6505-9lp',
      '',
    ]) {
      assert.match(
        versionProblem(bad) ?? '(accepted)',
        /must look like <10 hex digits>-<3 of \[a-z0-9\]>\[-testing\]/,
        bad,
      );
      assert.throws(() => parseVersion(bad), NamingError);
    }
  });
});
