import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readFunctionConfig, resolveLimits } from '../../core/functions/read-function-config';
import { parseSingleFileDirectives, parseRequirementsTxt } from '../../core/functions/requirements';
import { DEFAULT_LIMITS, MAX_LIMITS } from '../../core/config/worker-config';

function fnDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olfn-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

test('single-file comments give packages and imports', () => {
  const d = parseSingleFileDirectives('# ol-install: parso, jedi>=0.18,requests[socks]\n#ol-import: parso,jedi\nimport x\n');
  assert.deepEqual(d, { install: ['parso', 'jedi>=0.18', 'requests[socks]'], imports: ['parso', 'jedi'] });
});

test('requirements.txt lines are PEP 508 strings; pip options are refused with the line number', () => {
  assert.deepEqual(parseRequirementsTxt('# deps\nrequests>=2 ; python_version>"3"\n\nidna # inline\n', 'r.txt'), ['requests>=2 ; python_version>"3"', 'idna']);
  assert.throws(() => parseRequirementsTxt('a\n-r other.txt\n', 'fn/requirements.txt'), /fn\/requirements\.txt:2: pip options/);
});

test('ol.yaml, requirements.txt and comments merge into one config', () => {
  const dir = fnDir({
    'f.py': '# ol-install: c\n# ol-import: c\ndef f(e):\n    return e\n',
    'requirements.txt': 'b==1\n',
    'ol.yaml': 'packages: [a]\nimports: [a]\nenvironment: {X: 1}\nreuse-sandbox: false\ntriggers:\n  http:\n    - method: get\nowner: alice\nlimits: {mem_mb: 256}\n',
  });
  const c = readFunctionConfig(dir, 'fn');
  assert.deepEqual(c.packages, ['a', 'b==1', 'c']);
  assert.deepEqual(c.imports, ['a', 'c']);
  assert.deepEqual(c.environment, { X: '1' });
  assert.equal(c.reuseSandbox, false);
  assert.deepEqual(c.methods, ['GET']);
  assert.equal(c.owner, 'alice');
  assert.deepEqual(c.limits, { memMb: 256 });
});

test('bad ol.yaml errors name the file, the key and the problem', () => {
  assert.throws(() => readFunctionConfig(fnDir({ 'f.py': '', 'ol.yaml': 'limits: {mem_mb: lots}\n' }), 'fn'), /fn\/ol\.yaml: limits\.mem_mb: must be integer/);
  assert.throws(() => readFunctionConfig(fnDir({ 'f.py': '', 'ol.yaml': 'reuse_sandbox: true\n' }), 'fn'), /fn\/ol\.yaml: reuse_sandbox: unknown key/);
  assert.throws(() => readFunctionConfig(fnDir({ 'f.py': '', 'ol.yaml': 'a: [\n' }), 'fn'), /fn\/ol\.yaml: not valid YAML/);
  assert.throws(() => readFunctionConfig(fnDir({ 'ol.yaml': 'entry: main.py\n' }), 'fn'), /fn\/main\.py: the entry file is missing/);
});

test('limits default from the operator and may not exceed the maximum', () => {
  assert.deepEqual(resolveLimits({ memMb: 256 }, DEFAULT_LIMITS, MAX_LIMITS, 'fn/ol.yaml'), { memMb: 256, procs: 64, cpuPercent: 100, timeoutMs: 30000 });
  assert.throws(() => resolveLimits({ memMb: 4096 }, DEFAULT_LIMITS, MAX_LIMITS, 'fn/ol.yaml'), /fn\/ol\.yaml: limits\.mem_mb: 4096 is above the operator's maximum of 1024/);
});
