import { PluginError, Tokens, inject, injectable, type LoadedFunction, type SecretRequest } from '../../core';
import type { Role, SecretGrant, SecretGrantsConfig } from './config';
import { Destination } from './destinations';

/** The role that applies to a function, and why (for messages). */
export interface RoleBinding {
  role: string;
  via: string;
  grants: Role;
}

/** A function's allowed use of one secret, resolved. */
export interface Allowed {
  role: string;
  grant: SecretGrant;
  destinations: Destination[];
}

/**
 * The operator's policy: roles (which secrets, in which modes, to which
 * destinations) and who gets which role (a function by name, else its
 * owner). A function itself only asks, in ol.yaml; it never widens a grant.
 */
@injectable()
export class Policy {
  private readonly destinations = new Map<string, Destination[]>();

  constructor(@inject(Tokens.PluginConfig) private readonly config: SecretGrantsConfig) {
    this.checkConfig();
  }

  roleOf(fn: LoadedFunction): RoleBinding | null {
    const byName = this.config.grants.functions[fn.name];
    if (byName) return { role: byName, via: `function "${fn.name}"`, grants: this.config.roles[byName] };
    const byOwner = this.config.grants.owners[fn.config.owner];
    if (byOwner) return { role: byOwner, via: `owner "${fn.config.owner}"`, grants: this.config.roles[byOwner] };
    return null;
  }

  /** What is wrong with what `fn` asks for (empty: every request is granted). */
  problems(fn: LoadedFunction): string[] {
    const asked = fn.config.secrets ?? [];
    if (!asked.length) return [];
    const binding = this.roleOf(fn);
    const out: string[] = [];
    for (const req of asked) {
      const p = this.problem(fn, binding, req);
      if (p) out.push(`secrets: ${p}`);
    }
    for (const req of asked) {
      if (req.mode === 'env' && req.env && req.env in fn.config.environment) {
        out.push(`secrets: ${req.name} is delivered in the variable ${req.env}, which environment also sets; use another name (env: in the secrets entry)`);
      }
    }
    return out;
  }

  /** The grant behind a request `fn` made in ol.yaml, or null when it has none. */
  allowed(fn: LoadedFunction, secret: string, mode: SecretRequest['mode']): Allowed | null {
    if (!(fn.config.secrets ?? []).some((r) => r.name === secret && r.mode === mode)) return null;
    const binding = this.roleOf(fn);
    const grant = binding?.grants.secrets[secret];
    if (!binding || !grant || !grant.modes.includes(mode)) return null;
    return { role: binding.role, grant, destinations: this.destinations.get(`${binding.role}/${secret}`) ?? [] };
  }

  private problem(fn: LoadedFunction, binding: RoleBinding | null, req: SecretRequest): string | null {
    if (!binding) {
      return `asks for secret "${req.name}", but the operator's policy gives no role to function "${fn.name}" nor to its owner "${fn.config.owner}"; ask the operator to grant one (secret-grants.grants), or remove the request`;
    }
    const grant = binding.grants.secrets[req.name];
    if (!grant) {
      return `asks for secret "${req.name}", which role "${binding.role}" (granted to ${binding.via}) does not include; remove it from ol.yaml or ask the operator to add it to the role`;
    }
    if (!grant.modes.includes(req.mode)) {
      return `asks for secret "${req.name}" as ${req.mode}, but role "${binding.role}" allows it only as ${grant.modes.join(' or ')}; ask for mode ${grant.modes[0]}`;
    }
    return null;
  }

  /** Grants naming missing roles and malformed destinations are the operator's errors, reported at start. */
  private checkConfig(): void {
    for (const [kind, table] of Object.entries(this.config.grants)) {
      for (const [who, role] of Object.entries(table)) {
        if (!this.config.roles[role]) throw new PluginError('secret-grants', `grants.${kind}.${who} names role "${role}", which roles: does not define`, `define it under secret-grants.roles or fix the name`);
      }
    }
    for (const [role, r] of Object.entries(this.config.roles)) {
      for (const [secret, g] of Object.entries(r.secrets)) {
        try {
          this.destinations.set(`${role}/${secret}`, g.destinations.map((d) => Destination.parse(d)));
        } catch (e) {
          throw new PluginError('secret-grants', `roles.${role}.secrets.${secret}: ${(e as Error).message}`);
        }
      }
    }
  }
}
