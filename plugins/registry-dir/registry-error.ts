/**
 * A request to the registry that cannot be served as asked. `status` is the
 * HTTP status the front door should answer with: 400 for a bad name or a bad
 * archive, 409 for changing a read-only function, 413 for an archive over a
 * limit. The message says what was wrong and what to do.
 */
export class RegistryError extends Error {
  constructor(message: string, readonly status: 400 | 409 | 413) {
    super(message);
    this.name = 'RegistryError';
  }
}
