/**
 * An error a function author or operator can act on. `status` follows the
 * PackageResolver contract: 422 when the requirements (or lock) cannot be
 * met, 503 when an index cannot be reached.
 */
export class PackageError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly status = 422,
  ) {
    super(message);
    this.name = 'PackageError';
  }
}
