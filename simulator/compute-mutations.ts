import { ComputeApiError } from './errors.js';
import type { ComputeResources } from './compute-resources.js';
import type { FleetModel } from './fleet-model.js';
import { planOperation, rememberedOperation } from './operations.js';
import type { ApiRequest, ApiResponse } from './routing.js';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The resource a mutation changes, as its operation names it. */
export interface MutationTarget {
  readonly link: string;
  readonly id?: string;
  readonly region: string | undefined;
  readonly operationType: string;
}

export type Mutate = (request: ApiRequest, target: MutationTarget, apply: () => boolean) => ApiResponse;

/**
 * Runs a mutation under GCE's contract: a repeated `requestId` returns the first operation (as it is now) and
 * changes nothing; an injected operation error yields an operation that fails once DONE and has no effect; a
 * ModelError thrown by `apply` is a synchronous HTTP error. The effect applies now, the operation reports it
 * over its duration (operations.ts).
 */
export function computeMutate(model: FleetModel, { operationResource }: ComputeResources): Mutate {
  return (request, target, apply) => {
    const requestId = request.query.get('requestId') ?? undefined;
    if (requestId !== undefined && !UUID_PATTERN.test(requestId)) {
      throw new ComputeApiError(
        400,
        'invalid',
        `Invalid value for field 'requestId': '${requestId}'. The request ID must be a valid UUID (other than the zero UUID).`,
      );
    }
    const previous = rememberedOperation(model, requestId);
    if (previous !== undefined) {
      return {
        status: 200,
        body: operationResource(previous),
        effective: false,
        ...(requestId === undefined ? {} : { requestId }),
      };
    }
    const injected = request.operationError;
    const effective = injected === undefined ? apply() : false;
    const operation = model.recordOperation(
      {
        operationType: target.operationType,
        targetLink: target.link,
        targetId: target.id ?? model.newId(),
        region: target.region,
        ...planOperation(model, target.operationType, request.operationSeconds),
        ...(injected === undefined
          ? {}
          : {
              error: { code: injected.code, message: `Operation failed: ${injected.code}` },
              httpErrorStatusCode: injected.status,
            }),
      },
      requestId,
    );
    return {
      status: 200,
      body: operationResource(operation),
      effective,
      ...(requestId === undefined ? {} : { requestId }),
    };
  };
}
