/** Where packages appear inside a sandbox: /packages/<name>-<version>, each read-only. */
export const PACKAGES_MOUNT = '/packages';
