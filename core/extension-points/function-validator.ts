import { defineExtensionPoint } from '../plugin/extension-point';
import type { LoadedFunction } from '../functions/function-config';

/**
 * Checks a function against the operator's policy when it is installed and
 * whenever a new version is loaded (e.g. "asks for a secret its role does not
 * grant"). Combination: `parallel`: every validator sees every function and
 * their problems are concatenated; any problem rejects the function (HTTP 400
 * at install, 422 at load). Each problem says what is wrong and what to do,
 * and never contains a secret value.
 */
export interface FunctionValidator {
  /**
   * The ol.yaml keys this validator enforces (e.g. `secrets`). A function
   * using such a key on a worker where no validator enforces it is refused,
   * rather than run without what it asked for.
   */
  readonly keys?: readonly string[];
  check(fn: LoadedFunction): string[];
}

export const FunctionValidatorPoint = defineExtensionPoint<FunctionValidator>({
  id: 'FunctionValidator',
  combine: 'parallel',
  optional: true,
  compose: (validators) => ({
    keys: validators.flatMap((v) => v.keys ?? []),
    check(fn) {
      return validators.flatMap((v) => v.check(fn));
    },
  }),
});
