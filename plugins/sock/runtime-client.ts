import { Client } from 'undici';
import type { Invocation, InvocationFailure, InvocationOutcome } from '../../core';
import { explainErrno } from './errno-advice';

/** The failure type given to answers that do not follow the runtime protocol. */
export const PROTOCOL_ERROR = 'RuntimeProtocolError';

/** Runtime error kinds that map one to one onto FailureKind (the instance lives on). */
const FUNCTION_KINDS = new Set(['exception', 'load', 'bad-return', 'exit']);

/** What the runtime answered: the outcome, and how much output the call captured (when it says). */
export interface RuntimeReply {
  outcome: InvocationOutcome;
  /** Bytes written to stdout and stderr during the call (the runtime's X-OL-Output header). */
  outputBytes?: [number, number];
}

/**
 * HTTP/1.1 over the sandbox's Unix socket to ol_runtime.py: one keep-alive
 * connection, one request at a time. Timeouts are the caller's (an
 * AbortSignal): undici's own header and body timeouts are off, since a
 * function may legitimately run for as long as its limit allows.
 */
export class RuntimeClient {
  private readonly client: Client;

  constructor(socketPath: string) {
    this.client = new Client('http://sandbox', {
      socketPath,
      pipelining: 1,
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
    });
  }

  /**
   * POST /run. Resolves with the outcome the runtime reported; rejects when
   * the connection failed or closed without an answer, or the signal fired.
   */
  async run(inv: Invocation, signal: AbortSignal, headers: Record<string, string> = {}): Promise<RuntimeReply> {
    const res = await this.client.request({
      path: '/run',
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'x-ol-request-id': inv.requestId },
      body: inv.body,
      signal,
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    const contentType = String(res.headers['content-type'] ?? 'application/json');
    const outcome: InvocationOutcome = res.statusCode === 200 ? { ok: true, body, contentType } : { ok: false, failure: runtimeFailure(res.statusCode, body) };
    const outputBytes = parseOutputBytes(res.headers['x-ol-output']);
    return outputBytes ? { outcome, outputBytes } : { outcome };
  }

  async close(): Promise<void> {
    await this.client.destroy().catch(() => undefined);
  }
}

function parseOutputBytes(header: string | string[] | undefined): [number, number] | undefined {
  const m = typeof header === 'string' ? /^(\d+) (\d+)$/.exec(header) : null;
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** A 4xx/5xx answer of the runtime as an InvocationFailure. */
export function runtimeFailure(status: number, body: Buffer): InvocationFailure {
  let error: Record<string, unknown> | undefined;
  try {
    error = JSON.parse(body.toString('utf8'))?.error;
  } catch {
    error = undefined;
  }
  if (!error || typeof error !== 'object') {
    return { kind: 'exception', type: PROTOCOL_ERROR, message: `the sandbox runtime answered HTTP ${status} without an error object: ${body.toString('utf8').slice(0, 500)}` };
  }
  const kind = String(error.kind);
  const failure: InvocationFailure = {
    kind: FUNCTION_KINDS.has(kind) ? (kind as InvocationFailure['kind']) : 'exception',
    message: String(error.message ?? ''),
  };
  if (typeof error.type === 'string') failure.type = error.type;
  if (typeof error.traceback === 'string') failure.traceback = error.traceback;
  explainErrno(failure, error.errno);
  // bad-event and the runtime's protocol errors: the event, not the function, is at fault.
  if (!FUNCTION_KINDS.has(kind)) failure.message = `the sandbox runtime rejected the request (${kind}): ${failure.message}`;
  return failure;
}
