import * as path from 'node:path';
import { createHash } from 'node:crypto';

/** Everything a worker keeps on disk lives under its worker dir. */
export interface WorkerPaths {
  root: string;
  configFile: string;
  adminSocket: string;
  pidFile: string;
  logFile: string;
  /** Per-sandbox roots and scratch dirs. */
  sandboxes: string;
  /** Uploaded functions (the registry-dir plugin's upload target by default). */
  registry: string;
  /** Short id unique to this worker dir: names its cgroup subtree. */
  scope: string;
}

export function workerPaths(dir: string): WorkerPaths {
  const root = path.resolve(dir);
  return {
    root,
    configFile: path.join(root, 'config.yaml'),
    adminSocket: path.join(root, 'ol.sock'),
    pidFile: path.join(root, 'worker.pid'),
    logFile: path.join(root, 'worker.log'),
    sandboxes: path.join(root, 'sandboxes'),
    registry: path.join(root, 'registry'),
    scope: 'ol-' + createHash('sha256').update(root).digest('hex').slice(0, 10),
  };
}
