import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defaultFleet } from '../../runner-config/default-fleet.js';
import {
  customRunnerLabels,
  GITHUB_EVENTS,
  hookAllowList,
  templateMetadata,
  type FleetDefinition,
} from '../../runner-config/index.js';
import { createSandbox, fakeIdToken, runScript, startFakeCloud, type FakeCloud, type Sandbox } from './vm-fake.js';

const vmDir = fileURLToPath(new URL('../../runner-config/vm/', import.meta.url));
const script = (name: string) => join(vmDir, name);
const VERSION = '56e40f6505-9lp';

/** The default fleet with its services pointed at the fake cloud. */
const fleetServedBy = (cloud: FakeCloud): FleetDefinition => ({
  ...defaultFleet(),
  services: { tokenProxyUrl: `${cloud.url}/proxy`, selfDeleterUrl: `${cloud.url}/deleter` },
});

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

test('every VM script passes shellcheck', async (t) => {
  if (spawnSync('shellcheck', ['--version']).error) {
    t.skip('shellcheck is not installed (apt-get install shellcheck); CI installs it');
    return;
  }
  const scripts = (await listFiles(vmDir)).filter((path) => path.endsWith('.sh'));
  assert.ok(scripts.length >= 9, `found only ${scripts.length} scripts`);
  const { stdout } = await promisify(execFile)('shellcheck', ['--format=gcc', ...scripts]).catch(
    (error: Error & { stdout?: string }) => ({ stdout: error.stdout ?? error.message }),
  );
  assert.equal(stdout, '', stdout);
});

test('the committed hook allow-list is generated from the default fleet (regenerate with npm run schema)', async () => {
  assert.equal(await readFile(script('hooks/allowed-events'), 'utf8'), hookAllowList(defaultFleet()));
});

describe('VM scripts against a fake cloud', () => {
  let cloud: FakeCloud;
  let sandbox: Sandbox;
  let env: Record<string, string>;
  const fleet = defaultFleet();

  before(async () => {
    cloud = await startFakeCloud({ name: '', zone: '', machineType: '', attributes: {} });
    sandbox = await createSandbox();
    env = { METADATA_URL: `${cloud.url}/computeMetadata/v1`, RUNNER_ROOT: join(sandbox.dir, 'runner-root') };
  });
  after(async () => {
    await cloud.close();
    await sandbox.remove();
  });

  /**
   * Makes the fake metadata server describe a VM of the given MIG, created from the template of VERSION. A
   * group outside the fleet gets a presubmit template with only its group name changed.
   */
  function becomeVm(group: string, type: string, name: string, zone: string) {
    const known = fleet.groups.some((candidate) => candidate.name === group);
    cloud.instance = {
      name,
      zone,
      machineType: fleet.types.find((candidate) => candidate.name === type)?.machineType ?? '',
      cpuPlatform: 'Intel Cascade Lake',
      attributes: {
        ...templateMetadata(fleetServedBy(cloud), known ? group : 'presubmit', type, VERSION),
        'github-runner-group': group,
      },
    };
    cloud.proxyStatus = 200;
    cloud.deleterStatus = 200;
    cloud.requests.length = 0;
  }

  describe('pre-job hook', () => {
    const groups = [...fleet.groups.map((group) => group.name), 'releaser'];

    for (const group of groups) {
      test(`${group}: runs exactly the allowed events, for every GitHub event`, async () => {
        becomeVm(group, 'cpu', `gh-runner-${group}-cpu-us-west1-abcd`, 'us-west1-a');
        const allowed = fleet.groups.find((candidate) => candidate.name === group)?.allowedEvents ?? [];
        for (const event of [...GITHUB_EVENTS, '']) {
          const result = await runScript(script('hooks/pre-job.sh'), sandbox, { ...env, GITHUB_EVENT_NAME: event });
          const expected = allowed.includes(event) ? 0 : 1;
          assert.equal(result.code, expected, `${group} / "${event}": ${result.stderr}`);
          if (expected === 1) assert.match(result.stderr, new RegExp(`runner group '${group}' does not run jobs`));
        }
      });
    }

    test('trust levels: postsubmit (basic) refuses pull requests, presubmit (minimal) runs them', async () => {
      const run = async (group: string, event: string) => {
        becomeVm(group, 'gpu', `gh-runner-${group}-gpu-us-east1-wxyz`, 'us-east1-b');
        return (await runScript(script('hooks/pre-job.sh'), sandbox, { ...env, GITHUB_EVENT_NAME: event })).code;
      };
      assert.equal(await run('postsubmit', 'pull_request'), 1);
      assert.equal(await run('postsubmit', 'pull_request_target'), 1);
      assert.equal(await run('postsubmit', 'push'), 0);
      assert.equal(await run('presubmit', 'pull_request'), 0);
    });

    test('a refused job leaves none of its downloaded actions behind; an accepted one gets the work tree', async () => {
      const work = join(env.RUNNER_ROOT ?? '', 'actions-runner/_work');
      await mkdir(join(work, '_actions/some-action'), { recursive: true });
      await mkdir(join(work, '_temp'), { recursive: true });
      becomeVm('postsubmit', 'cpu', 'gh-runner-postsubmit-cpu-us-west1-abcd', 'us-west1-a');
      await writeFile(sandbox.callsLog, '');
      const refused = await runScript(script('hooks/pre-job.sh'), sandbox, {
        ...env,
        GITHUB_EVENT_NAME: 'pull_request',
      });
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /allowed: push, workflow_dispatch, release, deployment, deployment_status, schedule/,
      );
      assert.deepEqual(await readdir(work), []);
      assert.deepEqual(await sandbox.calls(), []);
      const accepted = await runScript(script('hooks/pre-job.sh'), sandbox, { ...env, GITHUB_EVENT_NAME: 'push' });
      assert.equal(accepted.code, 0, accepted.stderr);
      assert.deepEqual(await sandbox.calls(), [
        `sudo chown -R runner:runner ${env.RUNNER_ROOT}`,
        `chown -R runner:runner ${env.RUNNER_ROOT}`,
      ]);
    });
  });

  test('post-job hook empties the workspace, and never deletes outside the runner tree', async () => {
    const workspace = join(env.RUNNER_ROOT ?? '', 'actions-runner/_work/iree/iree');
    await mkdir(join(workspace, 'build'), { recursive: true });
    const outside = join(sandbox.dir, 'precious');
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'keep'), 'x');

    const cleaned = await runScript(script('hooks/post-job.sh'), sandbox, { ...env, GITHUB_WORKSPACE: workspace });
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.deepEqual(await readdir(workspace), []);

    const refused = await runScript(script('hooks/post-job.sh'), sandbox, { ...env, GITHUB_WORKSPACE: outside });
    assert.equal(refused.code, 0);
    assert.match(refused.stderr, /not cleaning workspace/);
    assert.deepEqual(await readdir(outside), ['keep']);
  });

  describe('startup, setup and registration', () => {
    let runnerArchive: Buffer;

    before(async () => {
      // A stand-in runner release whose config.sh records its arguments.
      const release = join(sandbox.dir, 'release');
      await mkdir(join(release, 'bin'), { recursive: true });
      await writeFile(
        join(release, 'config.sh'),
        '#!/usr/bin/env bash\nprintf "%s\\n" "$@" >"${FAKE_RUNNER_LOG}/config.sh.$1.args"\n',
        { mode: 0o755 },
      );
      runnerArchive = await tarGz(release, ['config.sh', 'bin']);
      // GitHub's archive of the config repository: one top-level folder holding runner-config/vm.
      const repo = join(sandbox.dir, 'repo');
      await cp(vmDir, join(repo, `iree-${VERSION}/runner-config/vm`), { recursive: true });
      await writeFile(join(repo, `iree-${VERSION}/README.md`), 'not extracted');
      cloud.downloads.set('config.tar.gz', await tarGz(repo, [`iree-${VERSION}`]));
      cloud.downloads.set('actions-runner.tar.gz', runnerArchive);
    });

    function becomeTestingCpuVm(digest: string) {
      becomeVm('presubmit', 'cpu', 'gh-runner-testing-presubmit-cpu-us-west1-h58j', 'us-west1-b');
      Object.assign(cloud.instance.attributes, {
        'github-runner-archive-url': `${cloud.url}/downloads/actions-runner.tar.gz`,
        'github-runner-archive-digest': digest,
      });
      cloud.downloads.set(
        `iree-org/iree/archive/${VERSION.slice(0, 10)}.tar.gz`,
        cloud.downloads.get('config.tar.gz')!,
      );
    }

    const setupEnv = () => ({
      ...env,
      GITHUB_URL: `${cloud.url}/downloads`,
      SYSTEMD_DIR: join(sandbox.dir, 'systemd'),
      FAKE_RUNNER_LOG: sandbox.dir,
    });

    test('installs the verified runner, registers it with the fleet labels and starts the services', async () => {
      becomeTestingCpuVm(createHash('sha256').update(runnerArchive).digest('hex'));
      await mkdir(join(sandbox.dir, 'systemd'), { recursive: true });
      await writeFile(sandbox.callsLog, '');

      const result = await runScript(script('startup.sh'), sandbox, setupEnv());
      assert.equal(result.code, 0, result.stderr);

      const args = (await readFile(join(sandbox.dir, 'config.sh.--token.args'), 'utf8')).trimEnd().split('\n');
      const labels = customRunnerLabels(
        fleet,
        { environment: 'testing', group: 'presubmit', type: 'cpu', region: 'us-west1' },
        { name: cloud.instance.name, zone: 'us-west1-b', version: VERSION, cpuPlatform: 'Intel Cascade Lake' },
      );
      assert.deepEqual(args, [
        '--token',
        'register-token-for-iree-org',
        '--unattended',
        '--ephemeral',
        '--disableupdate',
        '--url',
        'https://github.com/iree-org',
        '--name',
        'gh-runner-testing-presubmit-cpu-us-west1-h58j',
        '--replace',
        '--runnergroup',
        'presubmit',
        '--labels',
        labels.join(','),
      ]);

      const proxyCalls = cloud.requests.filter((request) => request.path.startsWith('/proxy/'));
      assert.deepEqual(
        proxyCalls.map((request) => [request.method, request.path, JSON.parse(request.body) as unknown]),
        [['POST', '/proxy/register', { scope: 'iree-org' }]],
      );
      const units = (await readdir(join(sandbox.dir, 'systemd'))).sort();
      assert.deepEqual(units, [
        'gh-runner-deregister.service',
        'gh-runner.service',
        'health-check.service',
        'runner-setup.target',
      ]);
      const calls = (await sandbox.calls()).filter((call) => call.startsWith('systemctl'));
      assert.deepEqual(calls, [
        'systemctl daemon-reload',
        ...units.map((unit) => `systemctl enable ${unit}`),
        'systemctl start runner-setup.target',
      ]);
      const envLink = join(env.RUNNER_ROOT ?? '', 'actions-runner/.env');
      assert.ok((await lstat(envLink)).isSymbolicLink());
      assert.equal(await readlink(envLink), '../config/runner.env');
      assert.ok((await readdir(join(env.RUNNER_ROOT ?? '', 'config/hooks'))).includes('pre-job.sh'));
    });

    test('a runner archive with the wrong SHA-256 is refused before anything registers or starts', async () => {
      becomeTestingCpuVm('0'.repeat(64));
      await writeFile(sandbox.callsLog, '');
      const result = await runScript(script('startup.sh'), sandbox, setupEnv());
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /does not have the SHA-256 0{64}/);
      assert.ok(!cloud.requests.some((request) => request.path.startsWith('/proxy/')));
      assert.deepEqual(await sandbox.calls(), []);
    });

    test('registration fails clearly when the token proxy does not answer with a token', async () => {
      becomeTestingCpuVm(createHash('sha256').update(runnerArchive).digest('hex'));
      cloud.proxyStatus = 400;
      await writeFile(sandbox.callsLog, '');
      const result = await runScript(script('startup.sh'), sandbox, setupEnv());
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /the token proxy .*\/proxy gave no register token for iree-org/);
      assert.ok(!(await sandbox.calls()).some((call) => call.startsWith('systemctl')));
    });

    test('deregistration removes the runner with a removal token', async () => {
      becomeTestingCpuVm(createHash('sha256').update(runnerArchive).digest('hex'));
      const result = await runScript(script('deregister.sh'), sandbox, setupEnv());
      assert.equal(result.code, 0, result.stderr);
      const args = (await readFile(join(sandbox.dir, 'config.sh.remove.args'), 'utf8')).trimEnd().split('\n');
      assert.deepEqual(args, ['remove', '--token', 'remove-token-for-iree-org']);
      assert.deepEqual(
        cloud.requests.filter((request) => request.path.startsWith('/proxy/')).map((request) => request.path),
        ['/proxy/remove'],
      );
    });
  });

  describe('self-deletion', () => {
    test('asks the deleter with a full-format ID token and does not shut down', async () => {
      becomeVm('presubmit', 'cpu', 'gh-runner-presubmit-cpu-us-west1-abcd', 'us-west1-a');
      await writeFile(sandbox.callsLog, '');
      const result = await runScript(script('delete-self.sh'), sandbox, env);
      assert.equal(result.code, 0, result.stderr);
      const deletes = cloud.requests.filter((request) => request.path === '/deleter/');
      assert.equal(deletes.length, 1);
      assert.equal(deletes[0]?.authorization, `Bearer ${fakeIdToken(`${cloud.url}/deleter`, 'full')}`);
      assert.deepEqual(await sandbox.calls(), []);
    });

    test('falls back to shutting down when the deleter fails', async () => {
      becomeVm('presubmit', 'cpu', 'gh-runner-presubmit-cpu-us-west1-abcd', 'us-west1-a');
      cloud.deleterStatus = 500;
      await writeFile(sandbox.callsLog, '');
      const result = await runScript(script('delete-self.sh'), sandbox, env);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /self-deletion through the MIG failed/);
      assert.deepEqual(await sandbox.calls(), ['sudo shutdown -P now', 'shutdown -P now']);
    });
  });
});

describe('health endpoint', () => {
  let sandbox: Sandbox;
  let server: ReturnType<typeof spawn> | undefined;
  let url = '';
  let runnerRoot = '';

  before(async () => {
    sandbox = await createSandbox();
    runnerRoot = join(sandbox.dir, 'runner-root');
    // `systemctl is-active` answers as the file `systemctl-state` says: active, inactive, or hang.
    await writeFile(
      join(sandbox.bin, 'systemctl'),
      `#!/usr/bin/env bash\ncase "$(cat "${sandbox.dir}/systemctl-state")" in\n  active) exit 0 ;;\n  hang) exec sleep 30 ;;\n  *) exit 3 ;;\nesac\n`,
      { mode: 0o755 },
    );
    const child = spawn('python3', [script('health-server.py')], {
      env: {
        ...process.env,
        PATH: `${sandbox.bin}:${process.env.PATH ?? ''}`,
        HEALTH_BIND: '127.0.0.1',
        HEALTH_PORT: '0',
        HEALTH_CHECK_TIMEOUT_SECONDS: '0.5',
        RUNNER_ROOT: runnerRoot,
      },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    server = child;
    url = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        const port = /listening on port (\d+)/.exec(chunk.toString())?.[1];
        if (port !== undefined) resolve(`http://127.0.0.1:${port}/`);
      });
      child.on('exit', (code) => reject(new Error(`health server exited with ${code}`)));
    });
  });
  after(async () => {
    server?.kill();
    await sandbox.remove();
  });

  const probe = async (state: string) => {
    await writeFile(join(sandbox.dir, 'systemctl-state'), state);
    const response = await fetch(url);
    return [response.status, await response.text()];
  };

  test('404 while the runner service is not active', async () => {
    assert.deepEqual(await probe('inactive'), [404, 'gh-runner is not active']);
  });

  test('500 when the service check times out', async () => {
    assert.deepEqual(await probe('hang'), [500, 'checking gh-runner timed out']);
  });

  test('200 idle before a job, 200 active once a job started', async () => {
    assert.deepEqual(await probe('active'), [200, 'idle']);
    await mkdir(join(runnerRoot, 'actions-runner/_diag'), { recursive: true });
    await writeFile(join(runnerRoot, 'actions-runner/_diag/Worker_20240101-000000-utc.log'), '');
    assert.deepEqual(await probe('active'), [200, 'active']);
  });
});

async function tarGz(dir: string, entries: string[]): Promise<Buffer> {
  const { stdout } = await promisify(execFile)('tar', ['-czf', '-', '-C', dir, ...entries], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}
