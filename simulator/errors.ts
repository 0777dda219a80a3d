/** An error the Compute API answers in Google's JSON error shape. */
export class ComputeApiError extends Error {
  override readonly name = 'ComputeApiError';

  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly domain = 'global',
  ) {
    super(message);
  }

  toJSON(): unknown {
    return {
      error: {
        code: this.status,
        message: this.message,
        errors: [{ message: this.message, domain: this.domain, reason: this.reason }],
      },
    };
  }
}

/** An error the GitHub REST API answers as `{message, documentation_url}`. */
export class GitHubApiError extends Error {
  override readonly name = 'GitHubApiError';

  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toJSON(): unknown {
    return { message: this.message, documentation_url: 'https://docs.github.com/rest', status: String(this.status) };
  }
}

/** An error of the simulator's own control API. */
export class ControlApiError extends Error {
  override readonly name = 'ControlApiError';

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  toJSON(): unknown {
    return { error: this.message };
  }
}

/** Thrown for requests the model refuses; the API layers translate it into their error shapes. */
export class ModelError extends Error {
  override readonly name = 'ModelError';

  constructor(
    readonly kind: 'invalid' | 'notFound' | 'conflict' | 'conditionNotMet',
    message: string,
  ) {
    super(message);
  }
}
