/**
 * DI tokens for the services core provides to every plugin. Extension points
 * carry their own tokens (`SomethingPoint.token`).
 */
export const Tokens = {
  /** The whole validated WorkerConfig. */
  WorkerConfig: Symbol.for('ol.core.WorkerConfig'),
  /** WorkerPaths: the worker dir and its sub-directories. */
  WorkerPaths: Symbol.for('ol.core.WorkerPaths'),
  /** The pino logger; inside a plugin's container, a child named after it. */
  Logger: Symbol.for('ol.core.Logger'),
  /** Inside a plugin's container: that plugin's validated config section. */
  PluginConfig: Symbol.for('ol.core.PluginConfig'),
  /** The root DI container (for optional extension points). */
  Container: Symbol.for('ol.core.Container'),
  /** FunctionLoader: name -> LoadedFunction (registry + config + limits). */
  FunctionLoader: Symbol.for('ol.core.FunctionLoader'),
  /** Metrics: the worker's Prometheus registry; plugins add their metrics to it. */
  Metrics: Symbol.for('ol.core.Metrics'),
} as const;
