import Ajv, { type ErrorObject } from 'ajv';

/**
 * JSON Schema validation shared by the worker config, plugin sections and
 * ol.yaml. Defaults from the schema are filled in; every problem is reported
 * with the dotted path of the key it concerns.
 */
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });

export class ConfigError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source}: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

export function validate(schema: object, data: unknown, source: string, prefix = ''): void {
  const check = ajv.compile(schema);
  if (!check(data)) throw new ConfigError(source, (check.errors ?? []).map((e) => describe(e, prefix)));
}

function describe(e: ErrorObject, prefix: string): string {
  const at = [prefix, e.instancePath.slice(1).replace(/\//g, '.')].filter(Boolean).join('.');
  const where = at || '(top level)';
  switch (e.keyword) {
    case 'additionalProperties':
      return `${joinKey(at, e.params.additionalProperty)}: unknown key`;
    case 'required':
      return `${joinKey(at, e.params.missingProperty)}: required key is missing`;
    case 'enum':
      return `${where}: must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${where}: ${e.message}`;
  }
}

function joinKey(at: string, key: string): string {
  return at ? `${at}.${key}` : key;
}
