import type { DependencyContainer, InjectionToken } from 'tsyringe';
import type { Logger } from '../log/logger';
import type { ExtensionPoint } from './extension-point';

/** A constructor tsyringe can build (decorated with `@injectable()`). */
export type ProviderClass<T> = new (...args: any[]) => T;

/**
 * What a plugin's `register` and lifecycle hooks receive. Each plugin gets its
 * own child container (encapsulation as in fastify): values it binds are
 * visible to its own classes only, while core services and extension points
 * come from the parent.
 */
export interface PluginContext {
  readonly name: string;
  /** This plugin's validated config section, defaults applied. */
  readonly config: any;
  readonly logger: Logger;
  /** The plugin's private container. */
  readonly container: DependencyContainer;
  /** Declare this plugin's implementation of an extension point. */
  provide<T>(point: ExtensionPoint<T>, impl: ProviderClass<T> | { useValue: T }): void;
  /** Resolve a core service or an extension point (after registration). */
  resolve<T>(token: InjectionToken<T>): T;
}

/**
 * A plugin module's default export. The manifest is data the kernel checks
 * before running any plugin code: name, the core API range, which extension
 * points it provides and which it requires, and a JSON Schema for its config
 * section (`additionalProperties: false` is added at the top level so typos
 * are errors, not silently ignored).
 */
export interface PluginManifest {
  name: string;
  version: string;
  description?: string;
  /** semver range of CORE_API_VERSION this plugin supports, e.g. "^1.0.0". */
  coreApi: string;
  provides: ExtensionPoint<any>[];
  requires: ExtensionPoint<any>[];
  configSchema?: Record<string, unknown>;
  /** Bind implementations; runs in dependency order, before any start(). */
  register(ctx: PluginContext): void | Promise<void>;
  /** After every plugin registered, in dependency order. */
  start?(ctx: PluginContext): void | Promise<void>;
  /** On shutdown, in reverse dependency order. Must release every resource. */
  stop?(ctx: PluginContext): void | Promise<void>;
}

/** Identity helper that gives plugin authors type checking. */
export function definePlugin(manifest: PluginManifest): PluginManifest {
  return manifest;
}
