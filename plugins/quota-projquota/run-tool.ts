export { runTool } from '../../core';

export const E2FS_HINT = 'install e2fsprogs (apt-get install e2fsprogs; .ci/run does)';
export const QUOTA_HINT = 'install the quota tools (apt-get install quota; .ci/run does)';
