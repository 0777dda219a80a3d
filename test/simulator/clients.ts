import {
  GlobalOperationsClient,
  InstanceTemplatesClient,
  RegionAutoscalersClient,
  RegionInstanceGroupManagersClient,
  RegionOperationsClient,
  RegionsClient,
} from '@google-cloud/compute';
import { Octokit } from '@octokit/rest';
import { PassThroughClient } from 'google-auth-library';

type ClientOptions = ConstructorParameters<typeof RegionsClient>[0];

/** The production compute clients, pointed at the simulator by endpoint only. */
export function computeClients(url: string) {
  const { hostname, port } = new URL(url);
  // google-gax nests its own google-auth-library copy, so the class types differ although the runtime contract
  // (an auth client with fetch) is the same.
  const authClient = new PassThroughClient() as unknown as Exclude<NonNullable<ClientOptions>['authClient'], undefined>;
  const options: ClientOptions = { apiEndpoint: hostname, port: Number(port), protocol: 'http', authClient };
  return {
    migs: new RegionInstanceGroupManagersClient(options),
    regionOperations: new RegionOperationsClient(options),
    globalOperations: new GlobalOperationsClient(options),
    autoscalers: new RegionAutoscalersClient(options),
    templates: new InstanceTemplatesClient(options),
    regions: new RegionsClient(options),
  };
}

export type ComputeClients = ReturnType<typeof computeClients>;

export async function closeComputeClients(clients: ComputeClients): Promise<void> {
  await Promise.all(Object.values(clients).map((client) => client.close()));
}

const ignore = (): void => undefined;
export const silentLog = { debug: ignore, info: ignore, warn: ignore, error: ignore };

/** Octokit without retries or throttling, so every simulated error reaches the test. */
export function octokit(url: string): Octokit {
  return new Octokit({ baseUrl: url, auth: 'test-token', request: { retries: 0 }, log: silentLog });
}

/** The HTTP status and Google error reason of a compute client failure. */
export function googleError(error: unknown): { code: number; reason: string; message: string } {
  const failure = error as { code?: number; message?: string };
  const body = JSON.parse(failure.message ?? '{}') as {
    error?: { message?: string; errors?: Array<{ reason?: string }> };
  };
  return {
    code: failure.code ?? 0,
    reason: body.error?.errors?.[0]?.reason ?? '',
    message: body.error?.message ?? '',
  };
}

/**
 * Sets a MIG's autoscaler to mode OFF, which GCP requires before it accepts a resize. The simulator applies a patch
 * on receipt (its operation only reports it later), so a test at clock speed 0 need not wait for the operation;
 * it names each autoscaler after its MIG, as gcloud does.
 */
export async function turnAutoscalerOff(
  clients: ComputeClients,
  at: { readonly project: string; readonly region: string; readonly mig: string },
): Promise<void> {
  await clients.autoscalers.patch({
    project: at.project,
    region: at.region,
    autoscaler: at.mig,
    autoscalerResource: { name: at.mig, autoscalingPolicy: { mode: 'OFF' } },
  });
}
