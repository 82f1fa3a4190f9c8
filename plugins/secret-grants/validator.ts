import { inject, injectable, type FunctionValidator, type LoadedFunction } from '../../core';
import { Policy } from './policy';

/** At install and at load: a function may ask only for what its role grants. */
@injectable()
export class GrantValidator implements FunctionValidator {
  readonly keys = ['secrets'];

  constructor(@inject(Policy) private readonly policy: Policy) {}

  check(fn: LoadedFunction): string[] {
    return this.policy.problems(fn);
  }
}
