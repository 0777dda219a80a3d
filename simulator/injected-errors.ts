import { ComputeApiError, GitHubApiError } from './errors.js';
import type { InjectedFault } from './faults.js';
import type { ApiKind } from './routing.js';

/**
 * The answer to a request a fault rule fails, in the shape production gives it. Sources: GCE error reasons
 * (https://cloud.google.com/compute/docs/troubleshooting/troubleshooting-api-errors), GitHub rate limits and
 * errors (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
 * https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api).
 */
export function injectedError(api: ApiKind, fault: InjectedFault, path: string, now: number): Error {
  const { status } = fault;
  if (api === 'compute') {
    const resource = path.replace(/^\/compute\/v1\//, '').replace(/\/(listManagedInstances|deleteInstances|wait)$/, '');
    switch (fault.kind) {
      case 'forbidden':
        return new ComputeApiError(
          403,
          'forbidden',
          `Required 'compute.instanceGroupManagers.update' permission for '${resource}'`,
        );
      case 'insufficientPermissions':
        return new ComputeApiError(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.');
      case 'resourceNotReady':
        return new ComputeApiError(409, 'resourceNotReady', `The resource '${resource}' is not ready`);
      case 'concurrentOperationsQuota':
        return new ComputeApiError(
          403,
          'rateLimitExceeded',
          "Quota 'CONCURRENT_OPERATIONS' exceeded: CONCURRENT_OPERATIONS_QUOTA_EXCEEDED. Limit: 1000.0 in region.",
          'usageLimits',
        );
      default:
        break;
    }
    if (status === 403 || status === 429) {
      return new ComputeApiError(status, 'rateLimitExceeded', 'Rate Limit Exceeded', 'usageLimits');
    }
    if (status >= 500) {
      return new ComputeApiError(status, 'backendError', 'Internal error. Please try again or contact Google Support.');
    }
    return new ComputeApiError(status, 'invalid', `Injected error ${status}.`);
  }
  const limitStatus = status === 429 ? 429 : 403;
  const retryAfter: Record<string, string> =
    fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
  switch (fault.kind) {
    case 'notAccessibleByIntegration':
      return new GitHubApiError(403, 'Resource not accessible by integration');
    case 'primaryRateLimit':
      return new GitHubApiError(limitStatus, 'API rate limit exceeded for installation ID 1.', {
        ...retryAfter,
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-used': '5000',
        'x-ratelimit-resource': 'core',
        'x-ratelimit-reset': String(Math.ceil(now / 1000) + 3600),
      });
    case 'secondaryRateLimit':
      return new GitHubApiError(
        limitStatus,
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        retryAfter,
      );
    default:
      break;
  }
  // A plain injected 429 or 403 keeps the answer earlier fault rules were written against.
  const legacyRetryAfter = { 'retry-after': '1' };
  if (status === 429)
    return new GitHubApiError(429, 'API rate limit exceeded for installation.', {
      ...legacyRetryAfter,
      'x-ratelimit-remaining': '0',
    });
  if (status === 403) {
    return new GitHubApiError(
      403,
      'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      legacyRetryAfter,
    );
  }
  return new GitHubApiError(status, status >= 500 ? 'Server Error' : `Injected error ${status}`);
}
