import { defineExtensionPoint } from '../plugin/extension-point';
import type { FunctionSource } from '../functions/function-config';

/** What an upload records with the code; lookup() returns it in the FunctionSource until the next upload. */
export interface UploadInfo {
  /** Who is charged for the function (accounting, quotas); wins over ol.yaml's `owner:`. */
  owner?: string;
}

/**
 * Where function code comes from. Combination: `chain`: registries are asked
 * in config order and the first that knows a name serves it; `list` merges;
 * `install`/`remove` go to the first registry that accepts uploads.
 */
export interface FunctionRegistry {
  /** The function's current version, or null when this registry does not have it. */
  lookup(name: string): Promise<FunctionSource | null>;
  list(): Promise<string[]>;
  /** Whether `install`/`remove` work on this registry. */
  readonly writable: boolean;
  /** Store a checked .tar.gz of a function directory under `name`, with what the uploader says about it. */
  install?(name: string, archive: Buffer, upload?: UploadInfo): Promise<FunctionSource>;
  /** Returns false when the function was not there. */
  remove?(name: string): Promise<boolean>;
}

export const FunctionRegistryPoint = defineExtensionPoint<FunctionRegistry>({
  id: 'FunctionRegistry',
  combine: 'chain',
  optional: false,
  compose: (registries) => new RegistryChain(registries),
});

class RegistryChain implements FunctionRegistry {
  constructor(private readonly registries: FunctionRegistry[]) {}

  get writable(): boolean {
    return this.registries.some((r) => r.writable);
  }

  async lookup(name: string): Promise<FunctionSource | null> {
    for (const r of this.registries) {
      const found = await r.lookup(name);
      if (found) return found;
    }
    return null;
  }

  async list(): Promise<string[]> {
    const all = await Promise.all(this.registries.map((r) => r.list()));
    return [...new Set(all.flat())].sort();
  }

  async install(name: string, archive: Buffer, upload?: UploadInfo): Promise<FunctionSource> {
    return this.firstWritable().install!(name, archive, upload);
  }

  async remove(name: string): Promise<boolean> {
    return this.firstWritable().remove!(name);
  }

  private firstWritable(): FunctionRegistry {
    const r = this.registries.find((x) => x.writable && x.install && x.remove);
    if (!r) throw new Error('no loaded registry plugin accepts uploads; enable one (e.g. registry-dir) in the config');
    return r;
  }
}
