/**
 * An extension point is a named interface that plugins implement. Each point
 * states how the kernel combines several plugins that provide it, in the
 * spirit of Rollup's hook kinds:
 *
 * - `exclusive`: exactly one provider is used. When several loaded plugins
 *   provide it, the config's `select.<point>` names the one to use.
 * - `first-available`: providers are probed in the order the config lists the
 *   plugins; the first whose `probe()` resolves true is used (e.g. cgroup v2
 *   on a unified host, v1 elsewhere).
 * - `chain`: all providers are used, in config order, through a composite the
 *   point defines (typically "first non-null answer wins").
 * - `parallel`: all providers are called for every event; results are not
 *   combined (observers, such as accounting sinks).
 */
export type CombineKind = 'exclusive' | 'first-available' | 'chain' | 'parallel';

export interface ExtensionPoint<T> {
  /** Stable name used in plugin manifests, `select:` and error messages. */
  readonly id: string;
  /** The DI token under which the combined implementation is registered. */
  readonly token: symbol;
  readonly combine: CombineKind;
  /** Whether the worker can run without any provider of this point. */
  readonly optional: boolean;
  /** For `chain` and `parallel`: builds the one object consumers see. */
  readonly compose?: (providers: T[]) => T;
  /** Marker so TypeScript keeps `T` (never read at run time). */
  readonly __type?: T;
}

/** Implemented by providers of `first-available` points. */
export interface Probeable {
  /** Resolves true when this provider can work on this host. */
  probe(): Promise<boolean>;
}

export function defineExtensionPoint<T>(spec: Omit<ExtensionPoint<T>, 'token' | '__type'>): ExtensionPoint<T> {
  if ((spec.combine === 'chain' || spec.combine === 'parallel') && !spec.compose) {
    throw new Error(`extension point ${spec.id}: a ${spec.combine} point needs compose()`);
  }
  return { ...spec, token: Symbol.for(`ol.point.${spec.id}`) };
}
