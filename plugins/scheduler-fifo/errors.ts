/** run() after drain() began: the worker is shutting down. */
export class SchedulerClosedError extends Error {
  constructor(readonly functionName: string) {
    super(`function "${functionName}" was not run: the worker is shutting down and accepts no new requests; retry on another worker`);
    this.name = 'SchedulerClosedError';
  }
}
