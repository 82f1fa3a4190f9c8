import { RegistryError } from './registry-error';

/**
 * Function names are single path components that cannot be hidden entries,
 * so they never collide with the registry's own `.tmp-*`/`.old-*` entries.
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function isValidName(name: string): boolean {
  return typeof name === 'string' && NAME.test(name);
}

export function checkName(name: string): void {
  if (!isValidName(name)) {
    throw new RegistryError(
      `invalid function name ${JSON.stringify(name)}: use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit`,
      400,
    );
  }
}
