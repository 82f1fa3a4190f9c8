import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  SingleFlight,
  Tokens,
  ZygoteSuitabilityPoint,
  inject,
  injectable,
  pinOf,
  type Counter,
  type InstalledPackage,
  type LoadedFunction,
  type Logger,
  type Metrics,
  type Sandbox,
  type SandboxAdditions,
  type SandboxBackend,
  type SandboxCustomizer,
  type SuitabilityReason,
  type WorkerPaths,
  type Zygote,
  type ZygotePool,
  type ZygoteSuitability,
} from '../../core';
import type { ZygoteConfig } from './config';
import { functionPackages, localPackagesFor, mountTarget, pinsOf } from './function-packages';
import { ZygoteTree, keyOf, type TreeNode } from './tree';

type ZygoteBackend = Required<Pick<SandboxBackend, 'createZygote' | 'forkFrom'>>;


/** How often idle zygotes are checked against memory pressure. */
const PRESSURE_CHECK_MS = 5000;
/** A zygote's child seen before a fork is looked at again this many times, this far apart (see inspect()). */
const CHILD_RECHECKS = 10;
const CHILD_RECHECK_MS = 10;

/**
 * Serves new sandboxes by forking them from zygotes of the tree, and owns the
 * zygotes' life: started on first need, reference-counted by their live
 * instances (and child zygotes), paused while unused, evicted (least
 * recently used, idle only) past max_zygotes or under memory pressure,
 * recreated when they died, retired when they became unfit to fork from. A
 * child node's zygote is forked from its parent's (it imports only what the
 * parent lacks), as in SOCK; it holds a reference on the parent, whose pid
 * namespace it lives in. Also the SandboxCustomizer
 * that mounts package_dirs packages for functions' `imports`.
 */
@injectable()
export class ZygotePoolService implements ZygotePool, SandboxCustomizer {
  readonly tree: ZygoteTree;
  private readonly leaves = new Map<string, TreeNode>();
  private readonly verdicts = new Map<string, Promise<boolean>>();
  private readonly starting = new SingleFlight<TreeNode, Zygote>();
  private readonly forks: Counter<'result'>;
  private readonly retired: Counter<'reason'>;
  private timer?: NodeJS.Timeout;
  private readonly emptyDir: string;

  constructor(
    @inject(Tokens.PluginConfig) private readonly config: ZygoteConfig,
    @inject(Tokens.WorkerPaths) paths: WorkerPaths,
    @inject(Tokens.Logger) private readonly log: Logger,
    @inject(Tokens.Metrics) metrics: Metrics,
    @inject(ZygoteSuitabilityPoint.token) private readonly suitability: ZygoteSuitability,
  ) {
    this.tree = new ZygoteTree(config.tree, config.root);
    this.emptyDir = path.join(paths.root, 'zygotes', 'empty');
    this.forks = metrics.counter({ name: 'ol_zygote_forks_total', help: 'Sandboxes asked of a zygote, by result: forked, or fallback to a fresh sandbox (fork failed)', labelNames: ['result'] });
    this.retired = metrics.counter({ name: 'ol_zygotes_retired_total', help: 'Zygotes destroyed, by reason: evicted, unsuitable, died', labelNames: ['reason'] });
    const tree = this.tree;
    metrics.gauge({
      name: 'ol_zygotes',
      help: 'Zygotes by state',
      labelNames: ['state'],
      collect() {
        this.reset();
        for (const n of tree.nodes.values()) if (n.zygote) this.inc({ state: n.zygote.sandbox.state });
      },
    });
  }

  start(): void {
    fs.mkdirSync(this.emptyDir, { recursive: true, mode: 0o755 });
    this.timer = setInterval(() => void this.relieveMemoryPressure(), PRESSURE_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    for (const n of this.tree.nodes.values()) clearTimeout(n.pauseTimer);
  }

  async sandboxFor(fn: LoadedFunction, backend: SandboxBackend): Promise<Sandbox | null> {
    if (fn.role || !backend.createZygote || !backend.forkFrom) return null;
    const node = await this.nodeFor(fn);
    if (!node) return null;
    this.hold(node); // before any await: an idle-pause must not race the fork
    try {
      const zygote = await this.ready(node, backend as ZygoteBackend);
      if (!(await this.stillFit(node, zygote))) {
        this.unref(node);
        return null;
      }
      const sandbox = await backend.forkFrom(zygote, fn);
      this.leaves.set(sandbox.id, node);
      node.forks++;
      this.forks.inc({ result: 'forked' });
      return sandbox;
    } catch (e) {
      this.unref(node);
      this.forks.inc({ result: 'fallback' });
      this.log.warn({ fn: fn.name, zygote: node.pins, err: (e as Error).message }, 'zygote fork failed; starting a fresh sandbox instead');
      return null;
    }
  }

  /** The deepest node for the function's suitable packages (learning a new one if the policy says so). */
  private async nodeFor(fn: LoadedFunction): Promise<TreeNode | null> {
    const pkgs = functionPackages(fn, this.config.package_dirs);
    if (!pkgs.length) return this.tree.deepest([]);
    const usable = await this.suitablePackages(pkgs);
    const pins = pinsOf(usable);
    let node = this.tree.deepest(pins);
    if (this.config.learn && pins.length && node?.pins.length !== pins.length) {
      const learned = this.tree.learn(pins, this.config.learn_after);
      if (learned) {
        this.log.info({ packages: pins, parent: learned.parent?.pins ?? null }, 'zygote tree: learned a node from the packages functions use');
        node = learned;
      }
    }
    // Ancestors too: a parent may be started for a child before any function needed it directly.
    for (let n = node; n && !n.packages; n = n.parent) {
      const pins = new Set(n.pins);
      n.packages = usable.filter((p) => pins.has(pinOf(p)));
    }
    return node;
  }

  /** The packages whose verdict allows them in a zygote (all of them when check is off). */
  private async suitablePackages(pkgs: InstalledPackage[]): Promise<InstalledPackage[]> {
    if (!this.config.check) return pkgs;
    const ok = await Promise.all(pkgs.map((p) => this.isSuitable(p)));
    return pkgs.filter((_, i) => ok[i]);
  }

  private isSuitable(pkg: InstalledPackage): Promise<boolean> {
    const pin = pinOf(pkg);
    let v = this.verdicts.get(pin);
    if (!v) {
      v = this.suitability.verdict(pkg.name, pkg.version).then(
        (verdict) => {
          if (!verdict) this.log.warn({ package: pin }, 'no zygote suitability verdict (is the zygote-suitability plugin loaded, with this package in its package_dirs?); keeping it out of zygotes');
          else if (!verdict.suitable) this.log.info({ package: pin, reasons: verdict.reasons.filter((r) => r.unsafe).map((r) => r.detail) }, 'package unsuitable for zygotes: functions import it in their own instance');
          return verdict?.suitable ?? false;
        },
        (e) => {
          this.verdicts.delete(pin); // a failed probe is retried next time
          this.log.warn({ package: pin, err: (e as Error).message }, 'zygote suitability check failed; keeping the package out of zygotes for now');
          return false;
        },
      );
      this.verdicts.set(pin, v);
    }
    return v;
  }

  /** The node's zygote, running: started (or restarted after it died) as needed, unpaused. */
  private async ready(node: TreeNode, backend: ZygoteBackend): Promise<Zygote> {
    if (node.pausing) await node.pausing;
    const z = node.zygote;
    if (z && z.sandbox.state !== 'dead') {
      if (z.sandbox.state === 'paused') await z.sandbox.unpause();
      return z;
    }
    if (z) {
      this.retired.inc({ reason: 'died' });
      this.log.warn({ zygote: node.pins }, 'zygote died; recreating it');
      this.drop(node);
    }
    return this.starting.run(node, () => this.startZygote(node, backend));
  }

  private async startZygote(node: TreeNode, backend: ZygoteBackend): Promise<Zygote> {
    const started = performance.now();
    const parent = await this.readyParent(node, backend); // held first: making room must not evict it
    await this.makeRoom();
    const modules = (node.packages ?? []).flatMap((p) => p.modules);
    const template = this.template(node, modules);
    let zygote: Zygote | undefined;
    if (parent) {
      try {
        zygote = await backend.createZygote(template, modules, parent);
        node.holdsParent = true;
      } catch (e) {
        this.unref(node.parent!);
        this.log.warn({ zygote: node.pins, parent: node.parent!.pins, err: (e as Error).message }, 'cannot fork a zygote from its parent; starting it on its own');
      }
    }
    zygote ??= await backend.createZygote(template, modules);
    node.zygote = zygote;
    this.log.info({ zygote: node.pins, sandbox: zygote.sandbox.id, modules, forkedFrom: node.holdsParent ? node.parent!.pins : null, ms: Math.round(performance.now() - started) }, 'zygote started');
    return zygote;
  }

  /** The parent's zygote, running and fit, with a reference held for the child about to fork from it; null: start the child on its own. */
  private async readyParent(node: TreeNode, backend: ZygoteBackend): Promise<Zygote | null> {
    const parent = node.parent;
    if (!parent || parent.retired) return null;
    this.hold(parent);
    try {
      const zygote = await this.ready(parent, backend);
      if (await this.stillFit(parent, zygote)) return zygote;
    } catch (e) {
      this.log.warn({ zygote: parent.pins, err: (e as Error).message }, 'cannot start the parent zygote; starting its child on its own');
    }
    this.unref(parent);
    return null;
  }

  /** One more user (an instance, a child zygote, a fork in progress): no pause until it is gone. */
  private hold(node: TreeNode): void {
    node.refs++;
    clearTimeout(node.pauseTimer);
    node.lastUsed = Date.now();
  }

  /** One user less: an unused zygote is paused after pause_after_ms; a retired one is destroyed as its last user goes. */
  private unref(node: TreeNode): void {
    node.refs--;
    if (node.refs > 0) return;
    if (node.retired) {
      void this.destroyZygote(node, `retired: ${node.retired}`);
      return;
    }
    clearTimeout(node.pauseTimer);
    node.pauseTimer = setTimeout(() => void this.pauseUnused(node), this.config.pause_after_ms);
    node.pauseTimer.unref();
  }

  /** Forget the node's zygote (it is gone or going), releasing its hold on the parent. */
  private drop(node: TreeNode): Zygote | undefined {
    const z = node.zygote;
    node.zygote = undefined;
    if (node.holdsParent) {
      node.holdsParent = false;
      this.unref(node.parent!);
    }
    return z;
  }

  private async destroyZygote(node: TreeNode, why: string): Promise<void> {
    await this.drop(node)?.sandbox.destroy(why);
  }

  /** Before every fork, the zygote itself (cheaply, from /proc): a thread or fd appeared since it started? Then retire it. */
  private async stillFit(node: TreeNode, zygote: Zygote): Promise<boolean> {
    if (!this.config.check) return true;
    const reasons = await this.inspect(zygote);
    if (!reasons.length) return true;
    // Destroyed once its last user is gone (unref): live instances and child zygotes are in its pid namespace.
    node.retired = reasons.map((r) => r.kind).join(', ');
    this.retired.inc({ reason: 'unsuitable' });
    this.log.error({ zygote: node.pins, reasons: reasons.map((r) => r.detail) }, 'zygote became unfit to fork from; retired (its functions start fresh)');
    return false;
  }

  /**
   * The zygote's unsafe findings. A child process may be the zygote's
   * transient spare-maker (ol_zygote.py forks one after each request, and it
   * exits within milliseconds): look again before holding a child against it.
   */
  private async inspect(zygote: Zygote): Promise<SuitabilityReason[]> {
    const look = () => this.suitability.inspect(zygote.serverPid, zygote.baselineFds).catch((e): SuitabilityReason[] => [{ kind: 'inspect-failed', unsafe: true, detail: (e as Error).message }]);
    let reasons = await look();
    for (let i = 0; i < CHILD_RECHECKS && reasons.length && reasons.every((r) => r.kind === 'child-process'); i++) {
      await new Promise((r) => setTimeout(r, CHILD_RECHECK_MS));
      reasons = await look();
    }
    return reasons;
  }

  /** The synthetic function a zygote sandbox is started for. */
  private template(node: TreeNode, modules: string[]): LoadedFunction {
    const pkgs = node.packages ?? [];
    const fromResolver = pkgs.filter((p) => !this.config.package_dirs.some((d) => p.dir.startsWith(d + '/')));
    return {
      name: node.pins.length ? `zygote.${keyOf(node.pins).replace(/[^A-Za-z0-9.=-]+/g, '_').slice(0, 80)}` : 'zygote.root',
      version: 'zygote',
      codeDir: this.emptyDir,
      role: 'zygote',
      config: { entry: 'f.py', handler: 'f', owner: 'ol-zygote', methods: null, environment: {}, reuseSandbox: true, packages: [], imports: modules, limits: {} },
      limits: { memMb: this.config.mem_mb, procs: 64, cpuPercent: 100, timeoutMs: 30000 },
      ...(fromResolver.length ? { packages: { pins: pinsOf(fromResolver), paths: fromResolver.map((p) => p.dir), locked: false } } : {}),
    };
  }

  /** Past max_zygotes, evict the least recently used idle zygote. */
  private async makeRoom(): Promise<void> {
    const live = [...this.tree.nodes.values()].filter((n) => n.zygote);
    if (live.length >= this.config.max_zygotes) await this.evictIdle(1, 'max_zygotes reached');
  }

  private async relieveMemoryPressure(): Promise<void> {
    const avail = memAvailableMb();
    if (avail === undefined || avail >= this.config.min_available_mb) return;
    await this.evictIdle(Infinity, `memory pressure: ${avail} MiB available, below zygote.min_available_mb`);
  }

  private async evictIdle(count: number, why: string): Promise<void> {
    const idle = [...this.tree.nodes.values()].filter((n) => n.zygote && n.refs === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const node of idle.slice(0, count)) {
      this.retired.inc({ reason: 'evicted' });
      this.log.info({ zygote: node.pins, why }, 'zygote evicted');
      await this.destroyZygote(node, `evicted: ${why}`);
    }
  }

  // --- SandboxCustomizer -----------------------------------------------------

  /** package_dirs packages named by a function's (or zygote's) imports, mounted at /packages/<name>-<version>. */
  async prepare(fn: LoadedFunction): Promise<SandboxAdditions> {
    if (fn.role === 'probe' || fn.packages?.paths.length) return {};
    const pkgs = localPackagesFor(fn.config.imports ?? [], this.config.package_dirs);
    if (!pkgs.length) return {};
    return { mounts: pkgs.map((p) => ({ source: p.dir, target: mountTarget(p) })), pythonPaths: pkgs.map(mountTarget) };
  }

  /** An instance is gone: one reference less on its zygote. */
  async release(sandboxId: string): Promise<void> {
    const node = this.leaves.get(sandboxId);
    if (!node) return;
    this.leaves.delete(sandboxId);
    this.unref(node);
  }

  private async pauseUnused(node: TreeNode): Promise<void> {
    const z = node.zygote;
    if (node.refs > 0 || z?.sandbox.state !== 'running' || node.pausing) return;
    node.pausing = z.sandbox
      .pause()
      .catch((e) => this.log.warn({ zygote: node.pins, err: (e as Error).message }, 'cannot pause an unused zygote'))
      .finally(() => (node.pausing = undefined));
    await node.pausing;
  }
}

function memAvailableMb(): number | undefined {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return m ? Math.floor(Number(m[1]) / 1024) : undefined;
}
