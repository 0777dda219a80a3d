/** Reading MIGs: GCP resources to the plain snapshots in contract.ts, and operation waits. */
import type { protos } from '@google-cloud/compute';
import { parseMigName } from '../runner-config/naming.js';
import { FailureType, permanentFailure, transientFailure } from './failures.js';
import type { ActivityRuntime } from './runtime.js';
import type { ManagedInstanceInfo, MigLocator, MigSnapshot, MigVersion } from './contract.js';

type InstanceGroupManager = protos.google.cloud.compute.v1.IInstanceGroupManager;
type ManagedInstance = protos.google.cloud.compute.v1.IManagedInstance;
type Operation = protos.google.cloud.compute.v1.IOperation;

/** The last path segment of a resource URL (`…/instanceTemplates/x` -> `x`). */
export function resourceName(url: string | null | undefined): string {
  if (url == null) return '';
  return url.slice(url.lastIndexOf('/') + 1);
}

/** The partial URL GCP accepts wherever a template is referenced. */
export function templateUrl(project: string, name: string): string {
  return `projects/${project}/global/instanceTemplates/${name}`;
}

export function migVersions(igm: InstanceGroupManager): MigVersion[] {
  return (igm.versions ?? []).map((version) => {
    const fixed = version.targetSize?.fixed;
    const percent = version.targetSize?.percent;
    const targetSize = typeof fixed === 'number' ? { fixed } : typeof percent === 'number' ? { percent } : undefined;
    return {
      name: version.name ?? '',
      instanceTemplate: resourceName(version.instanceTemplate),
      ...(targetSize === undefined ? {} : { targetSize }),
    };
  });
}

export function describeVersions(versions: readonly MigVersion[]): string {
  if (versions.length === 0) return 'no versions';
  return versions
    .map((version) => {
      const size =
        version.targetSize?.fixed ??
        (version.targetSize?.percent === undefined ? undefined : `${version.targetSize.percent}%`);
      return `${version.name}=${version.instanceTemplate}${size === undefined ? '' : ` (size ${size})`}`;
    })
    .join(', ');
}

export function toSnapshot(
  prefix: string,
  region: string,
  igm: InstanceGroupManager,
  instances: readonly ManagedInstance[] | undefined,
): MigSnapshot {
  const name = igm.name ?? '';
  const ref = parseMigName(prefix, name);
  if (ref === undefined) {
    throw permanentFailure(
      FailureType.INVALID_REQUEST,
      `MIG ${name} in ${region} is not named like the fleet's MIGs (${prefix}[-<env>]-<group>-<type>-<region>)`,
      { region, name },
    );
  }
  const instancesByTemplate: Record<string, number> = {};
  for (const instance of instances ?? []) {
    const template = resourceName(instance.version?.instanceTemplate);
    instancesByTemplate[template] = (instancesByTemplate[template] ?? 0) + 1;
  }
  return {
    region,
    name,
    ref,
    versions: migVersions(igm),
    targetSize: igm.targetSize ?? 0,
    isStable: igm.status?.isStable === true,
    versionTargetReached: igm.status?.versionTarget?.isReached === true,
    fingerprint: igm.fingerprint ?? '',
    distributionShape: igm.distributionPolicy?.targetShape ?? 'EVEN',
    instancesByTemplate,
  };
}

export function toInstanceInfo(instance: ManagedInstance, createdAt: string | undefined): ManagedInstanceInfo {
  const url = instance.instance ?? '';
  const zone = /\/zones\/([^/]+)\//.exec(url)?.[1] ?? '';
  return {
    name: instance.name ?? resourceName(url),
    zone,
    instanceTemplate: resourceName(instance.version?.instanceTemplate),
    status: instance.instanceStatus ?? 'UNKNOWN',
    currentAction: instance.currentAction ?? 'NONE',
    createdAt: createdAt ?? '',
  };
}

export async function getMig(runtime: ActivityRuntime, mig: MigLocator): Promise<InstanceGroupManager> {
  const [igm] = await runtime.call(
    `get MIG ${mig.name} in ${mig.region}`,
    () =>
      runtime.deps.compute.migs.get({ project: runtime.project, region: mig.region, instanceGroupManager: mig.name }),
    FailureType.MIG_NOT_FOUND,
  );
  return igm;
}

export async function managedInstances(runtime: ActivityRuntime, mig: MigLocator): Promise<ManagedInstance[]> {
  const [instances] = await runtime.call(
    `list instances of MIG ${mig.name} in ${mig.region}`,
    () =>
      runtime.deps.compute.migs.listManagedInstances({
        project: runtime.project,
        region: mig.region,
        instanceGroupManager: mig.name,
      }),
    FailureType.MIG_NOT_FOUND,
  );
  return instances;
}

/** A MIG as its snapshot; `instancesByTemplate` is counted only `withInstances`, which costs one more list call. */
export async function describeMig(
  runtime: ActivityRuntime,
  mig: MigLocator,
  { withInstances }: { readonly withInstances: boolean },
): Promise<MigSnapshot> {
  const [igm, instances] = await Promise.all([
    getMig(runtime, mig),
    withInstances ? managedInstances(runtime, mig) : Promise.resolve(undefined),
  ]);
  return toSnapshot(runtime.deps.fleet.namePrefix, mig.region, igm, instances);
}

/**
 * Creation times of a MIG's VMs, which only the instances API knows: one filtered list per zone of the region.
 * Keyed by instance name.
 */
export function instanceCreationTimes(
  runtime: ActivityRuntime,
  mig: MigLocator,
  zones: readonly string[],
): Promise<Map<string, string>> {
  return regionCreationTimes(runtime, mig.region, [mig.name], zones);
}

/**
 * Creation times of the VMs of several MIGs of one region, with the same one list per zone: a VM's name is its
 * MIG's base instance name (the MIG's name) and a suffix, so one pattern matches every MIG's VMs.
 */
export async function regionCreationTimes(
  runtime: ActivityRuntime,
  region: string,
  migNames: readonly string[],
  zones: readonly string[],
): Promise<Map<string, string>> {
  const times = new Map<string, string>();
  if (migNames.length === 0) return times;
  const names = migNames.length === 1 ? migNames[0] : `(?:${migNames.join('|')})`;
  for (const zone of zones) {
    const [instances] = await runtime.call(`list instances of ${migNames.join(', ')} in ${zone} (${region})`, () =>
      runtime.deps.compute.instances.list({
        project: runtime.project,
        zone,
        filter: `name eq '${names}-[a-z0-9]+'`,
      }),
    );
    for (const instance of instances) {
      if (instance.name != null && instance.creationTimestamp != null)
        times.set(instance.name, instance.creationTimestamp);
    }
  }
  return times;
}

/** GCE answers a mutation with an operation that may still be running; this waits until it is DONE. */
export async function waitForOperation(
  runtime: ActivityRuntime,
  scope: { region: string } | 'global',
  operation: Operation,
  what: string,
): Promise<Operation> {
  let current = operation;
  while (current.status !== 'DONE') {
    const name = current.name;
    if (name == null)
      throw transientFailure(FailureType.UNAVAILABLE, `${what}: GCP returned an operation without a name`);
    const started = Date.now();
    // GCP's wait blocks up to 2 minutes, longer than the heartbeat timeout: heartbeat while it blocks.
    [current] = await runtime.heartbeating({ operation: name }, () =>
      runtime.call(`${what}: wait for operation ${name}`, () =>
        scope === 'global'
          ? runtime.deps.compute.globalOperations.wait({ project: runtime.project, operation: name })
          : runtime.deps.compute.regionOperations.wait({
              project: runtime.project,
              region: scope.region,
              operation: name,
            }),
      ),
    );
    // The wait is best-effort: it may return early without the operation being DONE. Pause briefly then so a
    // server that answers at once is not polled in a tight loop.
    if (current.status !== 'DONE' && Date.now() - started < 1000)
      await runtime.sleep(Math.min(1000, runtime.timing.pollIntervalMs));
  }
  const errors = current.error?.errors ?? [];
  if (errors.length > 0) {
    const status = current.httpErrorStatusCode ?? 0;
    const detail = errors.map((error) => `${error.code ?? 'ERROR'}: ${error.message ?? ''}`).join('; ');
    const message = `${what}: operation ${current.name ?? ''} failed: ${detail}`;
    const details = {
      operation: current.name ?? '',
      httpStatus: status,
      errors: errors.map((e) => ({ code: e.code ?? '', message: e.message ?? '' })),
    };
    if (status === 429 || status >= 500) throw transientFailure(FailureType.UNAVAILABLE, message, details);
    // A 403 is a spent quota or rate (retry later) or a missing permission (retrying cannot help): the codes say.
    if (status === 403 && errors.every((error) => /QUOTA|RATE_LIMIT|LIMIT_EXCEEDED/i.test(error.code ?? ''))) {
      throw transientFailure(FailureType.RATE_LIMITED, message, details);
    }
    if (status === 412) throw transientFailure(FailureType.STALE_FINGERPRINT, message, details);
    throw permanentFailure(FailureType.OPERATION_FAILED, message, details);
  }
  return current;
}

/** The compute Operation inside the `[LROperation, …]` a mutating call resolves to. */
export function operationOf(result: readonly unknown[]): Operation {
  const [lro] = result as [{ latestResponse?: unknown } | undefined];
  return lro?.latestResponse ?? {};
}
