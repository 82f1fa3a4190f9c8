import { Client } from 'undici';
import { workerPaths } from '../lifecycle/worker-paths';

export interface AdminResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Talk to a worker's admin API over its Unix socket. */
export async function adminRequest(dir: string, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<AdminResponse> {
  const socketPath = workerPaths(dir).adminSocket;
  const client = new Client('http://localhost', { socketPath });
  try {
    const res = await client.request({ method: method as any, path, body, headers });
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') {
      throw new Error(`no worker is answering on ${socketPath}; start one with \`ol worker up -p ${dir}\``);
    }
    throw e;
  } finally {
    await client.close();
  }
}

/** Print an admin response body and turn an error status into a non-zero exit. */
export function printResponse(res: AdminResponse): void {
  const text = res.body.toString('utf8');
  if (res.status >= 400) {
    process.stderr.write(`error ${res.status}${res.headers['x-request-id'] ? ` (request ${res.headers['x-request-id']})` : ''}: ${text}\n`);
    process.exitCode = 1;
  } else if (text) {
    process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }
}
