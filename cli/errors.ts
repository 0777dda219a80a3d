/**
 * The CLI's error classes and the one place that decides what the operator sees and which exit code a
 * script gets. Commands throw; the boundary in run.ts calls {@link toCliError}.
 */
import { CommanderError } from 'commander';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { FleetConfigError, formatFleetIssue } from '../runner-config/issues.js';
import { ConfigError } from '../config/env.js';

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
  /** Another `rollout dev` holds the state directory, or the port is taken: nothing was started or changed. */
  inUse: 6,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

export interface CliErrorOptions extends ErrorOptions {
  /** Lines printed under the message, one per problem, when one failure has several (a bad fleet file). */
  readonly details?: readonly string[];
}

export class CliError extends Error {
  override readonly name: string = 'CliError';
  readonly details: readonly string[];
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options: CliErrorOptions = {},
  ) {
    super(message, options);
    this.details = options.details ?? [];
  }
}

/** A CLI error class per exit code other than success: the class tells the boundary which code to return. */
function cliErrorClass<const Name extends string>(name: Name, exitCode: ExitCode) {
  return class extends CliError {
    override readonly name: Name = name;
    constructor(message: string, options?: CliErrorOptions) {
      super(message, exitCode, options);
    }
  };
}

export const UsageError = cliErrorClass('UsageError', EXIT_CODES.usage);
export type UsageError = InstanceType<typeof UsageError>;
export const NotFoundError = cliErrorClass('NotFoundError', EXIT_CODES.notFound);
export type NotFoundError = InstanceType<typeof NotFoundError>;
export const UnreachableError = cliErrorClass('UnreachableError', EXIT_CODES.unreachable);
export type UnreachableError = InstanceType<typeof UnreachableError>;
export const RejectedError = cliErrorClass('RejectedError', EXIT_CODES.rejected);
export type RejectedError = InstanceType<typeof RejectedError>;
export const InUseError = cliErrorClass('InUseError', EXIT_CODES.inUse);
export type InUseError = InstanceType<typeof InUseError>;
export const OperationFailedError = cliErrorClass('OperationFailedError', EXIT_CODES.failure);
export type OperationFailedError = InstanceType<typeof OperationFailedError>;

type CliErrorClass = new (message: string, options?: CliErrorOptions) => CliError;

/** Turns the errors of one class into one kind of CLI error; undefined for any other error. */
type Translation = (error: unknown) => CliError | undefined;

function translate<E>(
  from: abstract new (...args: never[]) => E,
  to: CliErrorClass,
  message: (error: E) => string,
): Translation {
  return (error) => (error instanceof from ? new to(message(error), { cause: error }) : undefined);
}

/** What the operator sees for each error the CLI's libraries throw; the first matching row wins. */
const TRANSLATIONS: readonly Translation[] = [
  translate(CommanderError, UsageError, (error) => error.message.replace(/^error: /, '')),
  translate(ConfigError, UsageError, (error) => `configuration: ${error.message}`),
  (error) =>
    error instanceof FleetConfigError
      ? new UsageError(error.summary, { cause: error, details: error.issues.map(formatFleetIssue) })
      : undefined,
  translate(WorkflowNotFoundError, NotFoundError, (error) => `no workflow with id "${error.workflowId}"`),
  translate(
    WorkflowUpdateFailedError,
    RejectedError,
    (error) => `rejected: ${failureMessage(error.cause) ?? error.message}`,
  ),
  translate(
    WorkflowFailedError,
    OperationFailedError,
    (error) => `failed: ${failureMessage(error.cause) ?? error.message}`,
  ),
  translate(
    WorkflowExecutionAlreadyStartedError,
    OperationFailedError,
    (error) => `workflow "${error.workflowId}" is already running`,
  ),
];

/** Maps anything a command can throw to a one-line message and an exit code. */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  for (const translation of TRANSLATIONS) {
    const translated = translation(error);
    if (translated !== undefined) return translated;
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
