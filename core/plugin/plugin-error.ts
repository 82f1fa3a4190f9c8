/** A plugin could not be loaded, configured, started or stopped. */
export class PluginError extends Error {
  constructor(readonly plugin: string, problem: string, readonly hint?: string) {
    super(`plugin "${plugin}": ${problem}${hint ? ` (${hint})` : ''}`);
    this.name = 'PluginError';
  }
}
