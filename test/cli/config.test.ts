import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../config/env.js';
import { loadTemporalConfig } from '../../config/temporal.js';
import { describeWorkerConfig, loadWorkerConfig } from '../../worker/config.js';

test('defaults: local dev server, default namespace, runner-rollout queue, UI on port + 1000', () => {
  assert.deepEqual(loadTemporalConfig({}), {
    address: '127.0.0.1:7233',
    namespace: 'default',
    taskQueue: 'runner-rollout',
    uiUrl: 'http://127.0.0.1:8233',
  });
  assert.equal(
    loadTemporalConfig({ TEMPORAL_ADDRESS: 'ns.a1b2c.tmprl.cloud:7233' }).uiUrl,
    'https://cloud.temporal.io',
  );
});

test('empty variables count as unset', () => {
  assert.equal(loadTemporalConfig({ TEMPORAL_NAMESPACE: '', ROLLOUT_TASK_QUEUE: ' ' }).namespace, 'default');
});

test('every problem is reported at once, naming variables but never values', () => {
  const secret = 'BEGIN-PRIVATE-KEY-material';
  assert.throws(
    () =>
      loadWorkerConfig({
        TEMPORAL_ADDRESS: 'nope',
        TEMPORAL_TLS_CERT: '/tmp/cert.pem',
        COMPUTE_API_ENDPOINT: secret,
        GITHUB_TOKEN: 't',
        ROLLOUT_LOG_LEVEL: 'loud',
      }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /TEMPORAL_ADDRESS: must be host:port/);
      assert.match(error.message, /COMPUTE_API_ENDPOINT: must be an http\(s\) URL/);
      assert.match(error.message, /ROLLOUT_LOG_LEVEL: must be one of TRACE, DEBUG, INFO, WARN, ERROR/);
      assert.doesNotMatch(error.message, /PRIVATE-KEY/);
      return true;
    },
  );
  assert.throws(() => loadTemporalConfig({ TEMPORAL_TLS_CERT: '/tmp/cert.pem' }), /must be set together/);
});

test('GitHub: a token, or a complete App; never neither', () => {
  assert.throws(() => loadWorkerConfig({}), /GitHub credentials missing/);
  assert.throws(() => loadWorkerConfig({ GITHUB_APP_ID: '1', GITHUB_TOKEN: 't' }), /a GitHub App needs/);
  const config = loadWorkerConfig({
    GITHUB_APP_ID: '12',
    GITHUB_APP_INSTALLATION_ID: '34',
    GITHUB_APP_PRIVATE_KEY: 'pem-text',
    TEMPORAL_API_KEY: 'key-text',
  });
  assert.deepEqual(config.github.app, { appId: '12', installationId: '34', privateKey: 'pem-text' });
  const described = JSON.stringify(describeWorkerConfig(config));
  assert.doesNotMatch(described, /pem-text|key-text/);
  assert.match(described, /"githubAuth":"app"/);
  assert.match(described, /"temporalAuth":"api-key"/);
});
