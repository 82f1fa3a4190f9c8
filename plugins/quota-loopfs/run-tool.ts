export { runTool } from '../../core';

export const E2FS_HINT = 'install e2fsprogs (apt-get install e2fsprogs; .ci/run does)';
