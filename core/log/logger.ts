import pino from 'pino';

export type Logger = pino.Logger;

/** The worker's structured log: JSON lines on stdout (or a file when detached). */
export function createLogger(level: string, destination?: string): Logger {
  const dest = destination ? pino.destination({ dest: destination, mkdir: true, sync: false }) : pino.destination(1);
  return pino({ level, base: { svc: 'ol-worker' } }, dest);
}
