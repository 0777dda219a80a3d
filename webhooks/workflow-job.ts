/**
 * The fields of a `workflow_job` delivery the pool controller needs, checked: a delivery is signed by GitHub but
 * its shape is still input. Payload: https://docs.github.com/en/webhooks/webhook-events-and-payloads#workflow_job
 * (`runner_name` is null until a runner takes the job).
 */
import { z } from 'zod';
import { POOL_JOB_ACTIONS, type PoolJobAction, type PoolJobEvent } from '../workflows/pool-contract.js';

const payloadSchema = z.object({
  action: z.string(),
  workflow_job: z.object({
    id: z.int().positive(),
    run_id: z.int().positive(),
    labels: z.array(z.string()),
    runner_name: z.string().nullable().optional(),
  }),
});

export type WorkflowJobPayload =
  /** An action that changes what a pool needs, as the controller's event. */
  | { readonly kind: 'event'; readonly event: PoolJobEvent }
  /** Any other action (`waiting`, or one GitHub adds later): nothing for a pool to do. */
  | { readonly kind: 'other-action'; readonly action: string }
  | { readonly kind: 'invalid'; readonly problem: string };

const isPoolJobAction = (action: string): action is PoolJobAction =>
  (POOL_JOB_ACTIONS as readonly string[]).includes(action);

export function readWorkflowJob(body: unknown, deliveryId: string): WorkflowJobPayload {
  const parsed = payloadSchema.safeParse(body);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const where = issue === undefined || issue.path.length === 0 ? 'payload' : issue.path.join('.');
    return { kind: 'invalid', problem: `not a workflow_job payload: ${where}: ${issue?.message ?? 'invalid'}` };
  }
  const { action, workflow_job: job } = parsed.data;
  if (!isPoolJobAction(action)) return { kind: 'other-action', action };
  return {
    kind: 'event',
    event: {
      action,
      jobId: job.id,
      runId: job.run_id,
      labels: job.labels,
      runnerName: job.runner_name ?? null,
      deliveryId,
    },
  };
}
