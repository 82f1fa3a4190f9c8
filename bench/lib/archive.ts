import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar';

/**
 * A .tar.gz of `srcDir` with `f.py` given a trailing comment: every round's
 * upload is new code, so installing it retires the instances of the last
 * round and the next request is a cold start.
 */
export async function freshCopy(srcDir: string, workDir: string, round: number): Promise<Buffer> {
  const dir = path.join(workDir, `copy${round}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(srcDir, dir, { recursive: true });
  fs.appendFileSync(path.join(dir, 'f.py'), `\n# bench round ${round}\n`);
  const chunks: Buffer[] = [];
  const stream = tar.c({ gzip: true, cwd: dir, portable: true }, fs.readdirSync(dir));
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  fs.rmSync(dir, { recursive: true, force: true });
  return Buffer.concat(chunks);
}
