/**
 * The CLI's error classes and the one place that decides what the operator sees and which exit code a
 * script gets. Commands throw; the boundary in main.ts calls {@link toCliError}.
 */
import { CommanderError } from 'commander';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { ConfigError } from '../worker/config.js';

/** Exit codes scripts can branch on. */
export const EXIT_CODES = {
  ok: 0,
  /** The operation ran and failed, or an unexpected error. */
  failure: 1,
  /** Bad flags, arguments or configuration: nothing was started. */
  usage: 2,
  /** The rollout or workflow id does not exist. */
  notFound: 3,
  /** Temporal could not be reached. */
  unreachable: 4,
  /** The rollout refused the request (an update validator's reason). */
  rejected: 5,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_CODES.usage, options);
  }
}

export class NotFoundError extends CliError {
  override readonly name = 'NotFoundError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_CODES.notFound, options);
  }
}

export class UnreachableError extends CliError {
  override readonly name = 'UnreachableError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_CODES.unreachable, options);
  }
}

export class RejectedError extends CliError {
  override readonly name = 'RejectedError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_CODES.rejected, options);
  }
}

export class OperationFailedError extends CliError {
  override readonly name = 'OperationFailedError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_CODES.failure, options);
  }
}

/** Maps anything a command can throw to a one-line message and an exit code. */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof CommanderError) return new UsageError(error.message.replace(/^error: /, ''), { cause: error });
  if (error instanceof ConfigError) return new UsageError(`configuration: ${error.message}`, { cause: error });
  if (error instanceof WorkflowNotFoundError) {
    return new NotFoundError(`no workflow with id "${error.workflowId}"`, { cause: error });
  }
  if (error instanceof WorkflowUpdateFailedError) {
    return new RejectedError(`rejected: ${failureMessage(error.cause) ?? error.message}`, { cause: error });
  }
  if (error instanceof WorkflowFailedError) {
    return new OperationFailedError(`failed: ${failureMessage(error.cause) ?? error.message}`, { cause: error });
  }
  if (error instanceof WorkflowExecutionAlreadyStartedError) {
    return new OperationFailedError(`workflow "${error.workflowId}" is already running`, { cause: error });
  }
  if (isUnavailable(error)) {
    return new UnreachableError(`lost the connection to Temporal: ${(error as Error).message}`, { cause: error });
  }
  let message = error instanceof Error ? error.message : String(error);
  // Client errors often keep the server's reason in their cause ("Failed to list workflows" + why).
  if (error instanceof Error && error.cause instanceof Error) message += `: ${error.cause.message}`;
  return new CliError(`unexpected error: ${message}`, EXIT_CODES.failure, { cause: error });
}

/** The innermost failure message: Temporal wraps the reason an activity or validator gave in several layers. */
export function failureMessage(failure: unknown): string | undefined {
  let current: unknown = failure;
  let message: string | undefined;
  while (current instanceof Error) {
    if (current instanceof TemporalFailure || current instanceof ApplicationFailure) message = current.message;
    else if (message === undefined) message = current.message;
    current = current.cause;
  }
  return message;
}

/** gRPC UNAVAILABLE (code 14): the server went away after we connected. */
function isUnavailable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 14;
}
