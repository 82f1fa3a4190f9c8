/**
 * The version of the plugin API that core/ offers. Plugins declare the semver
 * range they were written against (`coreApi`); the kernel refuses to load a
 * plugin whose range does not include this version.
 */
export const CORE_API_VERSION = '1.0.0';
