import { Tokens, inject, injectable, type FunctionValidator, type LoadedFunction, type SandboxAdditions, type SandboxCustomizer } from '../../core';
import type { NetnsEgressConfig, NetworkPolicy } from './config';
import { EgressNamespace } from './egress-namespace';

/** The policy a function runs under: its ol.yaml `network`, else the operator's default. */
export function networkOf(fn: LoadedFunction, config: NetnsEgressConfig): NetworkPolicy {
  return fn.config.network ?? config.default;
}

/** Refuses, at install and load, a function whose network the operator does not allow. */
@injectable()
export class NetworkValidator implements FunctionValidator {
  readonly keys = ['network'];

  constructor(@inject(Tokens.PluginConfig) private readonly config: NetnsEgressConfig) {}

  check(fn: LoadedFunction): string[] {
    const policy = networkOf(fn, this.config);
    if (this.config.allowed.includes(policy)) return [];
    return [`network: ${policy} is not allowed on this worker (allowed: ${this.config.allowed.join(', ')}); remove the key to get "${this.config.default}", or ask the operator to add ${policy} to netns-egress.allowed`];
  }
}

/**
 * Puts every sandbox of an egress function in the shared egress namespace;
 * the others keep the sock backend's own (`--unshare-net`: loopback only,
 * one per sandbox). Zygotes and probes keep theirs too: a leaf forked from a
 * zygote joins the namespaces of its own holder sandbox, which this placed.
 */
@injectable()
export class NetworkCustomizer implements SandboxCustomizer {
  constructor(
    @inject(Tokens.PluginConfig) private readonly config: NetnsEgressConfig,
    @inject(EgressNamespace) private readonly egress: EgressNamespace,
  ) {}

  async prepare(fn: LoadedFunction): Promise<SandboxAdditions> {
    if (fn.role || networkOf(fn, this.config) !== 'egress') return {};
    return { netns: this.egress.file };
  }
}
