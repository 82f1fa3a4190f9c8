import { defineExtensionPoint } from '../plugin/extension-point';

/** What a secret may be called: safe as a file name, a URL path segment and a log field. */
export const SECRET_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$';

/** Providers reject a bad name with this error (a 400 the admin API passes on). */
export function checkSecretName(name: string): void {
  if (!new RegExp(SECRET_NAME_PATTERN).test(name)) {
    throw Object.assign(new Error(`invalid secret name ${JSON.stringify(name.slice(0, 140))}: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`), { status: 400 });
  }
}

/**
 * Holds secrets outside the instances. Combination: `chain`: providers are
 * asked in config order and the first that holds a name answers; writes go to
 * the first writable provider. Values must never be logged.
 */
export interface SecretProvider {
  get(name: string): Promise<Buffer | null>;
  list(): Promise<string[]>;
  readonly writable: boolean;
  put?(name: string, value: Buffer): Promise<void>;
  remove?(name: string): Promise<boolean>;
  /**
   * Call `onChange` whenever secrets may have changed (a put, a removal, a
   * rotated mounted file), so that instances holding an old value (env and
   * file delivery) are retired. Returns the unsubscribe function.
   */
  watch?(onChange: () => void): () => void;
}

export const SecretProviderPoint = defineExtensionPoint<SecretProvider>({
  id: 'SecretProvider',
  combine: 'chain',
  optional: true,
  compose: (providers) => ({
    get writable() {
      return providers.some((p) => p.writable);
    },
    async get(name) {
      for (const p of providers) {
        const v = await p.get(name);
        if (v) return v;
      }
      return null;
    },
    async list() {
      return [...new Set((await Promise.all(providers.map((p) => p.list()))).flat())].sort();
    },
    async put(name, value) {
      const p = providers.find((x) => x.writable && x.put);
      if (!p) throw Object.assign(new Error('no loaded secret provider accepts writes; enable a writable one (e.g. secrets-file) in plugins:'), { status: 405 });
      await p.put!(name, value);
    },
    async remove(name) {
      const p = providers.find((x) => x.writable && x.remove);
      if (!p) throw Object.assign(new Error('no loaded secret provider accepts writes; enable a writable one (e.g. secrets-file) in plugins:'), { status: 405 });
      return p.remove!(name);
    },
    watch(onChange) {
      const stops = providers.map((p) => p.watch?.(onChange));
      return () => stops.forEach((stop) => stop?.());
    },
  }),
});
