/**
 * The compute API tests' simulator, one per test file: a frozen clock (operations finish only as the tests advance
 * it), the default fleet and the presubmit-cpu template of the new version, reached through the real
 * @google-cloud/compute clients; and the reads and waits the tests share.
 */
import { after, before } from 'node:test';

import type { protos } from '@google-cloud/compute';

import { startSimulator, type SimulatorHandle } from '../../simulator/index.js';
import { closeComputeClients, computeClients, type ComputeClients } from './clients.js';

export type Operation = protos.google.cloud.compute.v1.IOperation;

export const PROJECT = 'iree-oss';
export const REGION = 'us-west1';
export const OLD = 'gh-runner-presubmit-cpu-0000000000-aaa';
export const NEW = 'gh-runner-presubmit-cpu-1111111111-bbb';
export const templateUrl = (name: string): string => `projects/${PROJECT}/global/instanceTemplates/${name}`;

export let sim: SimulatorHandle;
export let gce: ComputeClients;

/** Starts the simulator and its clients before the file's tests, and stops them after. */
export function useComputeSimulator(): void {
  before(async () => {
    sim = await startSimulator({
      speed: 0,
      seed: 7,
      startTime: '2026-03-02T00:00:00Z',
      jobRates: [],
      // Frozen clock: operations would never finish; compute-production.test.ts covers their durations.
      behaviours: { operationDurations: false },
    });
    gce = computeClients(sim.url);
    sim.control.createTemplate({
      group: 'presubmit',
      type: 'cpu',
      version: '1111111111-bbb',
      runnerVersion: '2.330.0',
    });
  });

  after(async () => {
    await closeComputeClients(gce);
    await sim.close();
  });
}

/** The reads and waits the tests share, on the running simulator. */
export async function getMig(name: string, region = REGION) {
  const [mig] = await gce.migs.get({ project: PROJECT, region, instanceGroupManager: name });
  return mig;
}

export async function waitRegion(
  response: [{ latestResponse: unknown }, ...unknown[]],
  region = REGION,
): Promise<Operation> {
  let operation = response[0].latestResponse as Operation;
  while (operation.status !== 'DONE') {
    [operation] = await gce.regionOperations.wait({
      project: PROJECT,
      region,
      operation: operation.name ?? '',
    });
  }
  return operation;
}

export async function managedTemplates(name: string): Promise<string[]> {
  const [instances] = await gce.migs.listManagedInstances({
    project: PROJECT,
    region: REGION,
    instanceGroupManager: name,
  });
  return instances.map((instance) => instance.version?.instanceTemplate?.split('/').pop() ?? '').sort();
}

export async function setBounds(name: string, min: number, max: number): Promise<void> {
  await waitRegion(
    await gce.autoscalers.patch({
      project: PROJECT,
      region: REGION,
      autoscaler: name,
      autoscalerResource: { name, autoscalingPolicy: { minNumReplicas: min, maxNumReplicas: max } },
    }),
  );
}
