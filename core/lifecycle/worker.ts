import 'reflect-metadata';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { Tokens } from '../di/tokens';
import { loadWorkerConfig } from '../config/load-config';
import type { WorkerConfig } from '../config/worker-config';
import { AdminRoutesPoint } from '../extension-points/admin-routes';
import { DiskQuotaPoint } from '../extension-points/disk-quota';
import { FunctionRegistryPoint } from '../extension-points/function-registry';
import { SchedulerPoint, type Scheduler } from '../extension-points/scheduler';
import { FunctionLoader } from '../functions/function-loader';
import { createAdminApp } from '../http/admin-app';
import { createPublicApp } from '../http/public-app';
import { InvokeService } from '../invoke/invoke-service';
import { createLogger, type Logger } from '../log/logger';
import { Metrics } from '../metrics/metrics';
import { Kernel } from '../plugin/kernel';
import { livePid } from './pid-file';
import { workerPaths, type WorkerPaths } from './worker-paths';

export interface WorkerOptions {
  dir: string;
  configFile: string;
  overrides?: string[];
  /** Log file; stdout when unset. */
  logFile?: string;
  logger?: Logger;
}

const MAX_ARCHIVE_BYTES = 64 * 1024 * 1024;

/**
 * One worker: boots the kernel with the configured plugins, then opens the
 * public listener and the admin socket. `stop` closes the listeners, lets
 * accepted work finish, and stops every plugin, leaving nothing behind.
 */
export class Worker {
  private servers: Server[] = [];
  private stopping?: Promise<void>;

  private constructor(
    readonly paths: WorkerPaths,
    readonly config: WorkerConfig,
    readonly container: DependencyContainer,
    private readonly kernel: Kernel,
    readonly log: Logger,
  ) {}

  static async start(opts: WorkerOptions): Promise<Worker> {
    const paths = workerPaths(opts.dir);
    fs.mkdirSync(paths.root, { recursive: true, mode: 0o700 });
    const other = livePid(paths.pidFile);
    if (other && other !== process.pid) throw new Error(`a worker is already running in ${paths.root} (pid ${other}); stop it with \`ol worker down -p ${opts.dir}\``);
    const config = loadWorkerConfig(opts.configFile, opts.overrides);
    const log = opts.logger ?? createLogger(config.worker.log_level, opts.logFile);
    const container = rootContainer.createChildContainer();
    container.registerInstance(Tokens.WorkerConfig, config);
    container.registerInstance(Tokens.WorkerPaths, paths);
    container.registerInstance(Tokens.Logger, log);
    container.registerInstance(Tokens.Container, container);
    container.registerInstance(Tokens.Metrics, new Metrics());
    const kernel = new Kernel(container, config, log);
    const worker = new Worker(paths, config, container, kernel, log);
    try {
      // Bound before the plugins start (built lazily, once the registry point is bound), so a plugin's start() may use it.
      container.registerSingleton(Tokens.FunctionLoader, FunctionLoader);
      await kernel.boot();
      await worker.listen();
    } catch (e) {
      await worker.stop();
      throw e;
    }
    fs.writeFileSync(paths.pidFile, `${process.pid}\n`);
    log.info({ dir: paths.root, plugins: kernel.pluginNames, http: `${config.http.host}:${config.http.port}`, admin: paths.adminSocket }, 'worker ready');
    return worker;
  }

  /** The public listener's port (useful when the config asked for port 0). */
  get port(): number {
    const addr = this.servers[0]?.address();
    return typeof addr === 'object' && addr ? addr.port : this.config.http.port;
  }

  status(): object {
    return { status: 'ok', pid: process.pid, dir: this.paths.root, plugins: this.kernel.pluginNames, port: this.port };
  }

  async stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async listen(): Promise<void> {
    const invoker = this.container.resolve(InvokeService);
    const maxBody = this.config.http.max_body_bytes;
    const publicApp = createPublicApp(invoker, this.log, maxBody);
    const adminApp = createAdminApp({
      invoker,
      registry: this.container.resolve(FunctionRegistryPoint.token),
      scheduler: this.container.resolve(SchedulerPoint.token),
      loader: this.container.resolve(Tokens.FunctionLoader),
      log: this.log,
      maxBody,
      maxArchive: MAX_ARCHIVE_BYTES,
      status: () => this.status(),
      pluginRoutes: this.container.resolve(AdminRoutesPoint.token),
      metrics: this.container.resolve(Tokens.Metrics),
      quota: this.container.isRegistered(DiskQuotaPoint.token, true) ? this.container.resolve(DiskQuotaPoint.token) : undefined,
    });
    const { headers_timeout_ms: headersTimeout, request_timeout_ms: requestTimeout, max_connections: maxConnections } = this.config.http;
    this.servers.push(await listenOn(publicApp.callback(), { host: this.config.http.host, port: this.config.http.port }, { headersTimeout, requestTimeout, maxConnections }));
    fs.rmSync(this.paths.adminSocket, { force: true });
    this.servers.push(await listenOn(adminApp.callback(), { path: this.paths.adminSocket }));
    fs.chmodSync(this.paths.adminSocket, 0o600);
  }

  private async shutdown(): Promise<void> {
    this.log.info('worker stopping');
    const closing = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const s of this.servers) s.closeIdleConnections();
    if (this.container.isRegistered(SchedulerPoint.token)) await this.container.resolve<Scheduler>(SchedulerPoint.token).drain();
    await Promise.all(closing);
    await this.kernel.shutdown();
    fs.rmSync(this.paths.adminSocket, { force: true });
    if (livePid(this.paths.pidFile) === process.pid) fs.rmSync(this.paths.pidFile, { force: true });
    this.log.info('worker stopped');
    this.log.flush();
  }
}

/** Limits of the public listener against slow-drip and connection-flood clients. */
interface PublicLimits {
  headersTimeout: number;
  requestTimeout: number;
  maxConnections: number;
}

async function listenOn(handler: Parameters<typeof import('node:http').createServer>[1], where: { host: string; port: number } | { path: string }, limits?: PublicLimits): Promise<Server> {
  const { createServer } = await import('node:http');
  // Node checks the two timeouts only every connectionsCheckingInterval (30 s by default): check often enough to honour them.
  const timeouts = limits ? { headersTimeout: limits.headersTimeout, requestTimeout: limits.requestTimeout, connectionsCheckingInterval: Math.min(1000, limits.headersTimeout / 2) } : {};
  const server = createServer({ keepAliveTimeout: 5000, ...timeouts }, handler);
  if (limits) server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where, () => resolve());
  });
  return server;
}
