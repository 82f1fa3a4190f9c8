import { compare, valid } from '@renovatebot/pep440';
import type { EnvironmentMarker, EnvironmentMarkerLeaf } from 'pip-requirements-js';
import { normalizeName } from './requirement';

/** PEP 508 marker variables of the sandbox's interpreter (read from it once). */
export type MarkerEnvironment = Record<string, string>;

const VERSION_OPS: Record<string, (c: number) => boolean> = {
  '<': (c) => c < 0,
  '<=': (c) => c <= 0,
  '>': (c) => c > 0,
  '>=': (c) => c >= 0,
  '==': (c) => c === 0,
  '!=': (c) => c !== 0,
};

/**
 * Evaluate a marker for the sandbox's Python. `extras` are the extras the
 * requirement's owner was asked for: a marker that mentions `extra` holds if
 * it holds for one of them (pip's rule for Requires-Dist).
 */
export function evaluateMarker(marker: EnvironmentMarker | undefined, env: MarkerEnvironment, extras: string[] = []): boolean {
  if (!marker) return true;
  const candidates = extras.length ? extras : [''];
  return candidates.some((extra) => evaluate(marker, { ...env, extra }));
}

function evaluate(m: EnvironmentMarker, env: MarkerEnvironment): boolean {
  if ('left' in m && (m.operator === 'and' || m.operator === 'or')) {
    const node = m as { operator: 'and' | 'or'; left: EnvironmentMarker; right: EnvironmentMarker };
    return node.operator === 'and' ? evaluate(node.left, env) && evaluate(node.right, env) : evaluate(node.left, env) || evaluate(node.right, env);
  }
  return leaf(m as EnvironmentMarkerLeaf, env);
}

function leaf(m: EnvironmentMarkerLeaf, env: MarkerEnvironment): boolean {
  const isExtra = m.left === 'extra' || m.right === 'extra';
  let left = value(m.left, env);
  let right = value(m.right, env);
  if (isExtra) {
    left = normalizeName(left);
    right = normalizeName(right);
  }
  switch (m.operator) {
    case 'in':
      return right.includes(left);
    case 'not in':
      return !right.includes(left);
    case '===':
      return left === right;
  }
  if (m.operator === '~=') return compatibleRelease(left, right);
  if (!isExtra && valid(left) && valid(right)) return VERSION_OPS[m.operator](compare(left, right));
  // PEP 508: values that are not versions compare as strings; only == and != make sense then.
  if (m.operator === '==') return left === right;
  if (m.operator === '!=') return left !== right;
  return false;
}

function compatibleRelease(version: string, base: string): boolean {
  if (!valid(version) || !valid(base)) return false;
  const parts = base.split('.');
  const prefix = parts.slice(0, Math.max(1, parts.length - 1)).join('.');
  return compare(version, base) >= 0 && (version === prefix || version.startsWith(prefix + '.'));
}

function value(side: string, env: MarkerEnvironment): string {
  if (/^(['"]).*\1$/s.test(side)) return side.slice(1, -1);
  if (!(side in env)) throw new Error(`unknown environment marker variable "${side}"`);
  return env[side];
}
