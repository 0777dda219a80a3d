/**
 * Reading who sent a rollout's controls from its history: every run it continued as new through, updates recorded
 * as admitted or accepted, signals, and nothing a person did not send.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { ReceivedControls, type History } from '../../cli/received-controls.js';

/** A history as the server sends it (timestamps with Long seconds) from plain event objects. */
const history = (events: object[]): History => proto.temporal.api.history.v1.History.fromObject({ events });

const at = (second: number): { seconds: number; nanos: number } => ({ seconds: 1_700_000_000 + second, nanos: 0 });
const payloads = (value: unknown): { payloads: ReturnType<typeof defaultPayloadConverter.toPayload>[] } => ({
  payloads: [defaultPayloadConverter.toPayload(value)],
});

function started(second: number, continuedFrom?: string) {
  return {
    eventTime: at(second),
    workflowExecutionStartedEventAttributes:
      continuedFrom === undefined ? {} : { continuedExecutionRunId: continuedFrom },
  };
}

function update(second: number, name: string, updateId: string, identity: string, request: unknown) {
  return {
    eventTime: at(second),
    workflowExecutionUpdateAcceptedEventAttributes: {
      acceptedRequest: { meta: { updateId, identity }, input: { name, args: payloads(request) } },
    },
  };
}

function signal(second: number, signalName: string, identity: string, request: unknown) {
  return {
    eventTime: at(second),
    workflowExecutionSignaledEventAttributes: { signalName, identity, input: payloads(request) },
  };
}

test('controls of every run, oldest first; earlier runs are read once; internal signals are left out', async () => {
  const histories: Record<string, History> = {
    first: history([
      started(0),
      update(10, 'pause', 'u-1', '101@laptop', { identity: 'bob', reason: 'lunch' }),
      signal(11, 'mig-report', 'worker-7@node', { kind: 'result', commandId: 'c-1' }),
    ]),
    second: history([
      started(20, 'first'),
      // An update recorded as admitted first carries its request there; its acceptance does not count again.
      {
        eventTime: at(30),
        workflowExecutionUpdateAdmittedEventAttributes: {
          request: {
            meta: { updateId: 'u-2', identity: 'ci@runner' },
            input: { name: 'resume', args: payloads({ identity: 'bob' }) },
          },
        },
      },
      { eventTime: at(31), workflowExecutionUpdateAcceptedEventAttributes: { protocolInstanceId: 'u-2' } },
      update(31, 'resume', 'u-2', 'ci@runner', { identity: 'bob' }),
    ]),
    latest: history([
      started(40, 'second'),
      signal(50, 'approve-signal', '', { stage: 'promote', identity: 'alice' }),
      update(60, 'recordEscalation', 'u-3', '202@check', {
        source: 'runner-version-check',
        severity: 'info',
        message: 'm',
      }),
      update(61, 'approve', 'u-4', '303@desk', 'not a request'),
    ]),
  };
  const fetched: string[] = [];
  const reader = new ReceivedControls((workflowId, runId) => {
    assert.equal(workflowId, 'rollout-x');
    fetched.push(runId ?? 'latest');
    return Promise.resolve(histories[runId ?? 'latest'] ?? history([]));
  });

  const controls = await reader.of('rollout-x');
  assert.deepEqual(controls, [
    {
      name: 'pause',
      kind: 'update',
      at: '2023-11-14T22:13:30.000Z',
      temporalIdentity: '101@laptop',
      claimedIdentity: 'bob',
      updateId: 'u-1',
    },
    {
      name: 'resume',
      kind: 'update',
      at: '2023-11-14T22:13:50.000Z',
      temporalIdentity: 'ci@runner',
      claimedIdentity: 'bob',
      updateId: 'u-2',
    },
    {
      name: 'approve-signal',
      kind: 'signal',
      at: '2023-11-14T22:14:10.000Z',
      temporalIdentity: '',
      claimedIdentity: 'alice',
      stage: 'promote',
    },
    {
      name: 'recordEscalation',
      kind: 'update',
      at: '2023-11-14T22:14:20.000Z',
      temporalIdentity: '202@check',
      claimedIdentity: 'runner-version-check',
      updateId: 'u-3',
    },
    { name: 'approve', kind: 'update', at: '2023-11-14T22:14:21.000Z', temporalIdentity: '303@desk', updateId: 'u-4' },
  ]);
  assert.deepEqual(fetched, ['latest', 'second', 'first']);

  await reader.of('rollout-x');
  assert.deepEqual(fetched, ['latest', 'second', 'first', 'latest'], 'finished runs are not read again');
});
