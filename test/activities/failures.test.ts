import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES, redact, redactValue, toFailure } from '../../activities/failures.js';
import { drainOptions, mutationOptions, readOptions, waitOptions } from '../../workflows/activity-options.js';
import { parseReleaseDigests, versionFromTag } from '../../activities/release.js';
import { deterministicUuid } from '../../activities/request-id.js';

const gaxiosLike = (status: number, reason: string, message = 'boom'): Error =>
  Object.assign(new Error(JSON.stringify({ error: { code: status, message, errors: [{ reason, message }] } })), {
    code: status,
  });

describe('failure classification', () => {
  test('GCP errors map to typed failures; transient ones stay retryable', () => {
    const cases: Array<[Error, string, boolean]> = [
      [gaxiosLike(503, 'backendError'), FailureType.UNAVAILABLE, false],
      [gaxiosLike(403, 'rateLimitExceeded'), FailureType.RATE_LIMITED, false],
      [gaxiosLike(429, 'rateLimitExceeded'), FailureType.RATE_LIMITED, false],
      [gaxiosLike(412, 'conditionNotMet'), FailureType.STALE_FINGERPRINT, false],
      [gaxiosLike(403, 'forbidden'), FailureType.PERMISSION_DENIED, true],
      [gaxiosLike(400, 'invalid'), FailureType.INVALID_REQUEST, true],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), FailureType.UNAVAILABLE, false],
    ];
    for (const [error, type, nonRetryable] of cases) {
      const failure = toFailure(error, 'call');
      assert.ok(failure instanceof ApplicationFailure);
      assert.equal(failure.type, type, error.message);
      assert.equal(failure.nonRetryable, nonRetryable, error.message);
    }
    const notFound = toFailure(gaxiosLike(404, 'notFound'), 'get MIG', FailureType.MIG_NOT_FOUND) as ApplicationFailure;
    assert.equal(notFound.type, FailureType.MIG_NOT_FOUND);
    assert.match(notFound.message, /^get MIG: HTTP 404 notFound: boom$/);
  });

  test('Octokit errors honour retry-after', () => {
    const error = Object.assign(new Error('You have exceeded a secondary rate limit'), {
      status: 403,
      response: {
        status: 403,
        headers: { 'retry-after': '30' },
        data: { message: 'You have exceeded a secondary rate limit' },
      },
    });
    const failure = toFailure(error, 'list runners') as ApplicationFailure;
    assert.equal(failure.type, FailureType.RATE_LIMITED);
    assert.equal(failure.nextRetryDelay, 30_000);
  });

  const octokitLike = (status: number, message: string, headers: Record<string, string>): Error =>
    Object.assign(new Error(message), { status, response: { status, headers, data: { message } } });

  test("a spent primary budget waits until x-ratelimit-reset, measured on the answer's own clock", () => {
    // The server's clock is an hour off this machine's: the wait still comes from reset - date (15 minutes).
    const served = Date.now() + 3600_000;
    const error = octokitLike(403, 'API rate limit exceeded for installation ID 1.', {
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(Math.floor(served / 1000) + 900),
      date: new Date(served).toUTCString(),
    });
    const failure = toFailure(error, 'list runners') as ApplicationFailure;
    assert.equal(failure.type, FailureType.RATE_LIMITED);
    assert.equal(failure.nonRetryable, false);
    const delay = failure.nextRetryDelay as number;
    assert.ok(delay >= 899_000 && delay <= 901_000, `waits for the reset, got ${delay} ms`);
  });

  test('a secondary limit without retry-after backs off a minute; a permission 403 is not a limit', () => {
    const secondary = toFailure(
      octokitLike(429, 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', {}),
      'list runners',
    ) as ApplicationFailure;
    assert.equal(secondary.type, FailureType.RATE_LIMITED);
    assert.equal(secondary.nextRetryDelay, 60_000);
    const denied = toFailure(
      octokitLike(403, 'Resource not accessible by integration', { 'x-ratelimit-remaining': '4000' }),
      'delete runner',
    ) as ApplicationFailure;
    assert.equal(denied.type, FailureType.PERMISSION_DENIED);
    assert.equal(denied.nonRetryable, true);
  });

  test('failure messages and details never carry tokens or keys', () => {
    const leaky = gaxiosLike(
      400,
      'invalid',
      'bad request with Authorization: Bearer ya29.a0AfH6SMBsecret and token ghs_abcdefghijklmnopqrstuvwxyz012345 at https://x/?access_token=abc&x=1',
    );
    const failure = toFailure(leaky, 'call') as ApplicationFailure;
    assert.doesNotMatch(failure.message, /ya29|ghs_abc|access_token=abc/);
    assert.match(failure.message, /access_token=\[REDACTED\]&x=1/);
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----';
    assert.equal(redact(`key: ${pem}`), 'key: [REDACTED PRIVATE KEY]');
    assert.deepEqual(redactValue({ privateKey: 'x', nested: { token: 'y', note: 'Bearer abcdefghijkl' } }), {
      privateKey: '[REDACTED]',
      nested: { token: '[REDACTED]', note: 'Bearer [REDACTED]' },
    });
  });

  test('every activity option the workflows use refuses to retry the non-retryable failure types', () => {
    for (const options of [readOptions, mutationOptions, drainOptions, waitOptions(60_000)]) {
      assert.deepEqual(new Set(options.retry?.nonRetryableErrorTypes), new Set(NON_RETRYABLE_FAILURE_TYPES));
    }
    assert.ok(!NON_RETRYABLE_FAILURE_TYPES.includes(FailureType.RATE_LIMITED));
    assert.ok(!NON_RETRYABLE_FAILURE_TYPES.includes(FailureType.STALE_FINGERPRINT));
    assert.ok(!NON_RETRYABLE_FAILURE_TYPES.includes(FailureType.UNAVAILABLE));
  });
});

describe('request ids', () => {
  test('name-based UUIDs: stable for the same inputs, distinct otherwise, valid version 5', () => {
    const id = deterministicUuid('wf', 'act', 'mig', 'fp');
    assert.equal(id, deterministicUuid('wf', 'act', 'mig', 'fp'));
    assert.notEqual(id, deterministicUuid('wf', 'act', 'mig', 'fp2'));
    assert.notEqual(deterministicUuid('a', 'bc'), deterministicUuid('ab', 'c'));
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('release bodies', () => {
  const sha = (c: string): string => c.repeat(64);
  test('digests are read only between the BEGIN/END SHA markers', () => {
    const body = [
      `commit ${sha('e')}`,
      `- actions-runner-linux-x64-2.320.0.tar.gz <!-- BEGIN SHA linux-x64 -->${sha('a')}<!-- END SHA linux-x64 -->`,
      `- actions-runner-linux-arm64-2.320.0.tar.gz <!-- BEGIN SHA linux-arm64 -->${sha('B')}<!-- END SHA linux-arm64 -->`,
    ].join('\n');
    assert.deepEqual(parseReleaseDigests(body), { 'linux-x64': sha('a'), 'linux-arm64': sha('b') });
  });

  test('two different digests for one platform, or a bad tag, are RELEASE_MALFORMED', () => {
    const line = (c: string): string => `<!-- BEGIN SHA linux-x64 -->${sha(c)}<!-- END SHA linux-x64 -->`;
    assert.throws(
      () => parseReleaseDigests(`${line('a')}\n${line('c')}`),
      (error: ApplicationFailure) => error.type === FailureType.RELEASE_MALFORMED,
    );
    assert.equal(versionFromTag('v2.320.0'), '2.320.0');
    assert.throws(() => versionFromTag('2.320'), /v<major>\.<minor>\.<patch>/);
  });
});
