/**
 * An error the HTTP layer turns into a response: `status`, a stable `code`,
 * a message that says what happened, and a hint that says what to do.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
