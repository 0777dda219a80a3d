import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { CheckReport } from '../../workflow-check/report.js';
import { runRollout } from './run-cli.js';

const CORPUS = 'test/fixtures/github-workflows';
const BAD = `${CORPUS}/bad/.github/workflows`;
const check = (...args: string[]) => runRollout(['check-workflows', ...args], {});
const empty = mkdtempSync(join(tmpdir(), 'check-workflows-'));
after(() => rmSync(empty, { recursive: true, force: true }));

describe('rollout check-workflows', () => {
  test('workflows whose jobs each reach one trust level that accepts their events: exit 0', async () => {
    const run = await check(`${CORPUS}/good`);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '3 workflow files: 0 errors, 0 warnings\n');
  });

  test('every case of a job landing on the wrong runners, or on none, is an error at its runs-on: exit 1', async () => {
    const run = await check(`${CORPUS}/bad`);
    assert.equal(run.code, 1);
    assert.equal(
      run.stdout,
      [
        `${BAD}/matrix.yml:12:14: error: job test: triggered by pull_request, runs-on [self-hosted, runner-group=postsubmit, cpu] can reach postsubmit runners, which do not run pull_request jobs (their pre-job hook refuses them)`,
        `${BAD}/mixed-trust.yml:8:14: error: job build: runs-on [self-hosted, cpu] matches runners of more than one trust level: presubmit (minimal trust), postsubmit (basic trust); name one group, e.g. runner-group=presubmit`,
        `${BAD}/no-runner.yml:5:14: error: job tpu: no runner of the fleet has runs-on [self-hosted, tpu]: the job would wait for a runner that never comes`,
        `${BAD}/no-runner.yml:10:7: error: job unknown-group: no runner of the fleet has runs-on [cpu] in group nightly: the job would wait for a runner that never comes`,
        `${BAD}/pull-request-on-postsubmit.yml:5:14: error: job benchmark: triggered by pull_request_target, runs-on [self-hosted, runner-group=postsubmit, gpu] can reach postsubmit runners, which do not run pull_request_target jobs (their pre-job hook refuses them)`,
        // The reusable workflow runs under its caller's event, on the group the caller passes.
        `${BAD}/reusable-test.yml:15:7: error: job test: triggered by pull_request_target, runs-on [self-hosted, runner-group=postsubmit, cpu] can reach postsubmit runners, which do not run pull_request_target jobs (their pre-job hook refuses them)`,
        '5 workflow files: 6 errors, 0 warnings',
        '',
      ].join('\n'),
    );
    assert.equal(run.stderr, "rollout: 6 errors in where the workflows' jobs run (listed above)\n");
  });

  test('runs-on built from an expression the check cannot resolve is a warning naming it: exit 0', async () => {
    const run = await check(`${CORPUS}/unresolved`);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /expressions\.yml:12:14: warning: job from-variable: runs-on uses \$\{\{ fromJSON\(vars\.RUNNER_LABELS\) \}\}/,
    );
    assert.match(
      run.stdout,
      /expressions\.yml:19:14: warning: job from-setup: runs-on uses \$\{\{ matrix\.runner \}\}/,
    );
    assert.match(run.stdout, /1 workflow file: 0 errors, 2 warnings\n$/);
  });

  test('--format github: workflow commands that annotate each file and line', async () => {
    const run = await check('--format', 'github', `${BAD}/mixed-trust.yml`);
    assert.equal(run.code, 1);
    assert.equal(
      run.stdout.split('\n')[0],
      `::error file=${BAD}/mixed-trust.yml,line=8,col=14::job build: runs-on [self-hosted, cpu] matches runners of more than one trust level: presubmit (minimal trust), postsubmit (basic trust); name one group, e.g. runner-group=presubmit`,
    );
    assert.equal(run.stdout.split('\n')[1], '::notice::1 workflow file: 1 error, 0 warnings');
  });

  test('--json: the findings with their positions and the counts', async () => {
    const run = await runRollout(['--json', 'check-workflows', `${CORPUS}/bad`], {});
    assert.equal(run.code, 1);
    const report = JSON.parse(run.stdout) as CheckReport;
    assert.deepEqual(
      { files: report.files, errors: report.errors, warnings: report.warnings },
      { files: 5, errors: 6, warnings: 0 },
    );
    assert.deepEqual(report.findings[1], {
      file: `${BAD}/mixed-trust.yml`,
      line: 8,
      col: 14,
      level: 'error',
      job: 'build',
      message:
        'job build: runs-on [self-hosted, cpu] matches runners of more than one trust level: presubmit (minimal trust), postsubmit (basic trust); name one group, e.g. runner-group=presubmit',
    });
  });

  test('bad input: one line naming the file (and line), exit 2', async () => {
    const invalid = await check(`${CORPUS}/invalid`);
    assert.equal(invalid.code, 2);
    assert.equal(
      invalid.stderr,
      `rollout: ${CORPUS}/invalid/.github/workflows/broken.yml:6:5: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]\n`,
    );
    assert.equal(invalid.stdout, '');
    const missing = await check('no/such/dir');
    assert.deepEqual([missing.code, missing.stderr], [2, 'rollout: no/such/dir: no such file or directory\n']);
    const none = await check(empty);
    assert.deepEqual([none.code, none.stderr], [2, `rollout: ${empty}: no workflow files (*.yml, *.yaml) in it\n`]);
    const notWorkflow = join(empty, 'list.yml');
    writeFileSync(notWorkflow, '- a\n- b\n');
    const list = await check(notWorkflow);
    assert.deepEqual([list.code, list.stderr], [2, `rollout: ${notWorkflow}:1:1: a workflow file is a mapping\n`]);
    const badFleet = await check('--fleet', join(empty, 'fleet.yaml'), `${CORPUS}/good`);
    assert.deepEqual(
      [badFleet.code, badFleet.stderr],
      [2, `rollout: --fleet: no such file ${join(empty, 'fleet.yaml')}\n`],
    );
  });
});
