import { defineExtensionPoint } from '../plugin/extension-point';

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
      if (!p) throw new Error('no loaded secret provider accepts writes');
      await p.put!(name, value);
    },
    async remove(name) {
      const p = providers.find((x) => x.writable && x.remove);
      if (!p) throw new Error('no loaded secret provider accepts writes');
      return p.remove!(name);
    },
  }),
});
