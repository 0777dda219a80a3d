/**
 * Version changes of a MIG: the canary, its promotion or rollback, and the direct update of a single-template
 * MIG, each planned against the MIG's current versions (mig-updates.ts) and patched only when the plan says so.
 */
import { FailureType, permanentFailure } from './failures.js';
import { makeRoomFor } from './canary-room.js';
import { describeMig, operationOf, templateUrl, waitForOperation } from './mig-reads.js';
import { planCanary, planDirect, planPromote, planRollback, type MigVersions, type UpdatePlan } from './mig-updates.js';
import type { ActivityRuntime } from './runtime.js';
import type { MigLocator, MigUpdateResult, MigVersion, RolloutActivities } from './contract.js';

/**
 * New VMs take the new template and old VMs leave only when their runner is done (they delete themselves after a
 * job, or the busy-safe drain removes them idle): GCP's opportunistic update never replaces a VM by itself.
 * https://cloud.google.com/compute/docs/instance-groups/rolling-out-updates-to-managed-instance-groups#type
 */
const BUSY_SAFE_UPDATE_POLICY = { type: 'OPPORTUNISTIC' } as const;

export function createVersionUpdateActivities(
  runtime: ActivityRuntime,
): Pick<RolloutActivities, 'canaryMig' | 'promoteCanary' | 'rollbackCanary' | 'directUpdate'> {
  return {
    async canaryMig({ mig, template, canarySize, surge }) {
      const result = await updateVersions(runtime, mig, 'canary', (state) => planCanary(state, template, canarySize));
      // After the patch is DONE: a VM the surge brings before the canary version exists would boot the old one.
      const room = await makeRoomFor(runtime, mig, template, canarySize, { remember: true, surge: surge === true });
      return {
        ...result,
        madeRoom: room.replaced,
        ...(room.surgedTo === undefined ? {} : { surgedTo: room.surgedTo }),
      };
    },

    async promoteCanary({ mig, template }) {
      return updateVersions(runtime, mig, 'promote canary', (state) => planPromote(state, template));
    },

    async rollbackCanary({ mig, canaryTemplate }) {
      return updateVersions(runtime, mig, 'roll back canary', (state) => planRollback(state, canaryTemplate));
    },

    async directUpdate({ mig, template }) {
      const result = await updateVersions(runtime, mig, 'update', (state) => planDirect(state, template));
      // The rollout verifies a direct update by one VM on the new template; the rest follow in convergence.
      return { ...result, madeRoom: (await makeRoomFor(runtime, mig, template, 1, { remember: true })).replaced };
    },
  };
}

/**
 * Plans the change against the MIG's current versions and patches only when the plan says so. The patch
 * carries the fingerprint of the state it was planned on (a concurrent writer makes GCP answer 412) and a
 * requestId tied to this activity and that fingerprint, so a re-sent patch is deduplicated by GCP.
 */
async function updateVersions(
  runtime: ActivityRuntime,
  mig: MigLocator,
  action: string,
  plan: (state: MigVersions) => UpdatePlan,
): Promise<MigUpdateResult> {
  const project = runtime.project;
  const state = await describeMig(runtime, mig, { withInstances: false });
  const decided = plan(state);
  if (decided.kind === 'already-applied') {
    runtime.log.info(`${action}: MIG ${mig.name} already in the requested state`, { mig: mig.name });
    return { mig, applied: false, versions: state.versions };
  }
  const what = `${action} MIG ${mig.name} in ${mig.region}`;
  const result = await runtime
    .call(
      what,
      () =>
        runtime.deps.compute.migs.patch({
          project,
          region: mig.region,
          instanceGroupManager: mig.name,
          requestId: runtime.attemptRequestId(action, mig.region, mig.name, state.fingerprint),
          instanceGroupManagerResource: {
            fingerprint: state.fingerprint,
            // Said every time: a MIG another tool left PROACTIVE would replace busy VMs and kill their jobs.
            updatePolicy: BUSY_SAFE_UPDATE_POLICY,
            versions: decided.versions.map((version) => ({
              name: version.name,
              instanceTemplate: templateUrl(project, version.instanceTemplate),
              ...(version.targetSize === undefined ? {} : { targetSize: version.targetSize }),
            })),
          },
        }),
      FailureType.MIG_NOT_FOUND,
    )
    .catch((error: unknown) => {
      throw missingTemplateFailure(error, decided.versions, mig) ?? error;
    });
  await waitForOperation(runtime, { region: mig.region }, operationOf(result), what);
  runtime.log.info(`${action}: patched MIG ${mig.name}`, { mig: mig.name, versions: decided.versions });
  return { mig, applied: true, versions: decided.versions };
}

/** GCP answers a patch naming a missing template with 400/404 that names it: make that a clear failure. */
function missingTemplateFailure(error: unknown, versions: readonly MigVersion[], mig: MigLocator): Error | undefined {
  const failure = error as { type?: string; message?: string };
  if (failure.type !== FailureType.INVALID_REQUEST && failure.type !== FailureType.MIG_NOT_FOUND) return undefined;
  const missing = versions.find((version) => failure.message?.includes(version.instanceTemplate) === true);
  if (missing === undefined) return undefined;
  return permanentFailure(
    FailureType.TEMPLATE_NOT_FOUND,
    `instance template ${missing.instanceTemplate} does not exist; create the version's templates first (rollout templates create)`,
    { template: missing.instanceTemplate, mig },
  );
}
