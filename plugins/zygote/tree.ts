import type { InstalledPackage, Zygote } from '../../core';
import type { TreeNodeConfig } from './config';

/** One zygote of the tree: a package set, and the live fork server for it (when started). */
export interface TreeNode {
  /** Sorted `name==version` pins: its own and all its ancestors'. */
  pins: string[];
  parent: TreeNode | null;
  children: TreeNode[];
  origin: 'config' | 'learned';
  zygote?: Zygote;
  /** The packages, once known (from the first function that needed this node). */
  packages?: InstalledPackage[];
  /** Live instances forked from it. */
  refs: number;
  /** A pause in progress (an unused zygote is frozen); a fork waits for it, then thaws. */
  pausing?: Promise<void>;
  /** Pending pause of an unused zygote (cancelled by the next fork). */
  pauseTimer?: NodeJS.Timeout;
  lastUsed: number;
  forks: number;
  /** Set when it must not be used again (unsuitable): functions needing it start fresh or use an ancestor. */
  retired?: string;
  /** Its zygote was forked from the parent's, which must outlive it (it holds one of the parent's refs). */
  holdsParent?: boolean;
}

export const keyOf = (pins: string[]) => pins.join(' ');

/**
 * The zygote tree: configured nodes plus learned ones. Policy (docs/zygotes.md):
 * a function is served by the deepest node whose pins are all among its own
 * (same name and version); a package set seen in `learnAfter` cold starts
 * with no node of its own becomes a node, under the deepest node it contains.
 * With `root`, a node without packages (the runtime alone) is the parent of
 * every top-level node and serves functions that no other node matches.
 */
export class ZygoteTree {
  readonly nodes = new Map<string, TreeNode>();
  private readonly seen = new Map<string, number>();

  constructor(config: TreeNodeConfig[], root = false) {
    const top = root ? this.insert([], null, 'config') : null;
    const add = (cfg: TreeNodeConfig, parent: TreeNode | null) => {
      const pins = [...new Set([...(parent?.pins ?? []), ...cfg.packages.map(normalizePin)])].sort();
      const node = this.insert(pins, parent, 'config');
      for (const child of cfg.children ?? []) add(child, node);
    };
    for (const cfg of config) add(cfg, top);
  }

  /** The deepest usable node whose pins are a subset of `pins` (the root, if there is one, matches every set). */
  deepest(pins: string[]): TreeNode | null {
    const have = new Set(pins);
    let best: TreeNode | null = null;
    for (const node of this.nodes.values()) {
      if (node.retired || !node.pins.every((p) => have.has(p))) continue;
      if (!best || node.pins.length > best.pins.length) best = node;
    }
    return best;
  }

  /** Count a cold start of `pins`; returns the node learned for it, if this one tips it over. */
  learn(pins: string[], learnAfter: number): TreeNode | null {
    if (!pins.length || this.nodes.has(keyOf(pins))) return null;
    const n = (this.seen.get(keyOf(pins)) ?? 0) + 1;
    this.seen.set(keyOf(pins), n);
    if (n < learnAfter) return null;
    this.seen.delete(keyOf(pins));
    return this.insert(pins, this.deepest(pins), 'learned');
  }

  private insert(pins: string[], parent: TreeNode | null, origin: TreeNode['origin']): TreeNode {
    const existing = this.nodes.get(keyOf(pins));
    if (existing) return existing;
    const node: TreeNode = { pins, parent, children: [], origin, refs: 0, lastUsed: 0, forks: 0 };
    parent?.children.push(node);
    this.nodes.set(keyOf(pins), node);
    return node;
  }

  /** A JSON view for the admin API. */
  describe(): unknown[] {
    const view = (n: TreeNode): unknown => ({
      packages: n.pins,
      origin: n.origin,
      state: n.retired ? `retired: ${n.retired}` : n.zygote ? n.zygote.sandbox.state : 'not started',
      instances: n.refs,
      forks: n.forks,
      forkedFromParent: Boolean(n.holdsParent),
      serverPid: n.zygote?.serverPid ?? null,
      children: n.children.map(view),
    });
    return [...this.nodes.values()].filter((n) => !n.parent).map(view);
  }
}

/** `Foo_Bar==1.0` -> `foo-bar==1.0` (PEP 503 names). */
export function normalizePin(pin: string): string {
  const [name, version] = pin.split('==');
  return `${name.toLowerCase().replace(/[-_.]+/g, '-')}==${version}`;
}
