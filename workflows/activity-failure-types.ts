/**
 * The failure types of activity failures, shared by the activities that raise them and the workflows that branch
 * on them. Pure (no imports), because workflow code may import only types from activities/ and the sandbox must
 * never load side-effecting modules.
 */

/**
 * Every failure type an activity raises. Workflows branch on `failure.cause.type` against these strings (never on
 * `instanceof`, which does not survive the sandbox).
 */
export const FailureType = {
  /** The MIG is not in the state the step requires (e.g. a canary on a MIG that already has two versions). */
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  TEMPLATE_NOT_FOUND: 'TEMPLATE_NOT_FOUND',
  /** A template of that name exists but was built from a different fleet definition or version. */
  TEMPLATE_MISMATCH: 'TEMPLATE_MISMATCH',
  MIG_NOT_FOUND: 'MIG_NOT_FOUND',
  /** GCP or GitHub rejected the request as malformed (HTTP 400/404/409 that re-reading cannot fix). */
  INVALID_REQUEST: 'INVALID_REQUEST',
  /** The credentials lack a permission (HTTP 401, or 403 that is not a rate limit). */
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  /** The MIG cannot hold the requested shape: a second version on a BALANCED/ANY distribution (a100 groups). */
  UNSUPPORTED_SHAPE: 'UNSUPPORTED_SHAPE',
  /** A runner archive's SHA-256 differs from the digest published in the release. */
  DIGEST_MISMATCH: 'DIGEST_MISMATCH',
  /** The latest runner release lacks a parseable version or per-platform digests. */
  RELEASE_MALFORMED: 'RELEASE_MALFORMED',
  /** A long-running GCP operation finished with `error` set. */
  OPERATION_FAILED: 'OPERATION_FAILED',
  /** Another writer changed the MIG between our read and our patch (HTTP 412); retried after a fresh read. */
  STALE_FINGERPRINT: 'STALE_FINGERPRINT',
  /** Quota or rate limit (GCP 403 rateLimitExceeded, HTTP 429, GitHub secondary limits); retried with backoff. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** Server-side or network trouble (5xx, resets, timeouts); retried. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** A wait's own deadline (counted from its first attempt) passed before its condition held. */
  WAIT_TIMED_OUT: 'WAIT_TIMED_OUT',
  /**
   * VMs on a template keep crashing before their runner registers (the MIG recreates or replaces them): waiting
   * longer cannot bring the runners up.
   */
  BOOT_LOOP: 'BOOT_LOOP',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/**
 * The failure types a retry cannot fix: activities raise them as non-retryable, and the workflows' activity
 * options list them as `nonRetryableErrorTypes` too (a second guard).
 */
export const NON_RETRYABLE_FAILURE_TYPES: readonly FailureType[] = [
  FailureType.PRECONDITION_FAILED,
  FailureType.TEMPLATE_NOT_FOUND,
  FailureType.TEMPLATE_MISMATCH,
  FailureType.MIG_NOT_FOUND,
  FailureType.INVALID_REQUEST,
  FailureType.PERMISSION_DENIED,
  FailureType.UNSUPPORTED_SHAPE,
  FailureType.DIGEST_MISMATCH,
  FailureType.RELEASE_MALFORMED,
  FailureType.OPERATION_FAILED,
  FailureType.WAIT_TIMED_OUT,
  FailureType.BOOT_LOOP,
];
