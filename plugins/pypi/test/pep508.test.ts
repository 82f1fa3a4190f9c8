import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseFilename } from '../dist-file';
import { evaluateMarker } from '../markers';
import { parseRequirement } from '../requirement';
import { parseHtmlPage, parseJsonPage } from '../simple-index';
import { parseMetadata } from '../wheel-metadata';

const ENV = {
  implementation_name: 'cpython', implementation_version: '3.11.2', os_name: 'posix', platform_machine: 'x86_64',
  platform_release: '6.1.0', platform_system: 'Linux', platform_version: '#1 SMP', python_full_version: '3.11.2',
  platform_python_implementation: 'CPython', python_version: '3.11', sys_platform: 'linux',
};
const holds = (req: string, extras: string[] = []) => evaluateMarker(parseRequirement(req, 't').marker, ENV, extras);

test('PEP 508 requirements: normalised names, sorted extras, specifiers, old-style parentheses', () => {
  const r = parseRequirement('Requests_Toolbelt[Socks,security] >=2.0, <3 ; python_version >= "3.8"', 't');
  assert.deepEqual([r.name, r.extras, r.specifier], ['requests-toolbelt', ['security', 'socks'], '>=2.0,<3']);
  assert.equal(parseRequirement('idna (<4,>=2.5)', 't').specifier, '<4,>=2.5');
  assert.throws(() => parseRequirement('pkg @ https://example.org/pkg.whl', 'the requirements of fn'), /the requirements of fn: "pkg @ .*" is not supported: only package names with versions/);
});

test('markers are evaluated as PEP 508 says for the sandbox interpreter', () => {
  assert.equal(holds('a ; python_version >= "3.8" and sys_platform == "linux"'), true);
  assert.equal(holds('a ; python_version < "3.10" or os_name == "nt"'), false);
  assert.equal(holds('a ; python_full_version ~= "3.11.0"'), true);
  assert.equal(holds("a ; 'linux' in sys_platform and platform_machine not in 'arm64 aarch64'"), true);
  assert.equal(holds('a ; platform_python_implementation != "PyPy"'), true);
  assert.equal(holds('a ; extra == "socks"'), false);
  assert.equal(holds('a ; extra == "SOCKS"', ['socks']), true);
  assert.equal(holds('a ; extra == "socks" and python_version < "3"', ['socks']), false);
});

test('wheel and sdist filenames: name, version, compressed tag sets', () => {
  assert.deepEqual(parseFilename('Foo_Bar-1.0.post1-py2.py3-none-any.whl'), { kind: 'wheel', name: 'foo-bar', version: '1.0.post1', tags: ['py2-none-any', 'py3-none-any'] });
  assert.equal(parseFilename('numpy-1.26.0-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl')?.tags.length, 2);
  assert.deepEqual(parseFilename('foo-1.0.tar.gz'), { kind: 'sdist', name: 'foo', version: '1.0', tags: [] });
  assert.equal(parseFilename('foo-1.0.exe'), null);
});

test('simple index pages: PEP 503 HTML (hash fragment, escaped attributes, yanked) and PEP 691 JSON', () => {
  const html = '<a href="../../f/a-1.0-py3-none-any.whl#sha256=' + 'ab'.repeat(32) + '" data-requires-python="&gt;=3.8" data-yanked="">a-1.0-py3-none-any.whl</a>';
  assert.deepEqual(parseHtmlPage(html, 'http://ix/simple/a/'), [
    { filename: 'a-1.0-py3-none-any.whl', url: 'http://ix/f/a-1.0-py3-none-any.whl', sha256: 'ab'.repeat(32), requiresPython: '>=3.8', yanked: true },
  ]);
  const json = JSON.stringify({ files: [{ filename: 'a-1.0.tar.gz', url: 'https://files/a-1.0.tar.gz', hashes: { sha256: 'cd'.repeat(32) }, yanked: 'bad' }] });
  assert.deepEqual(parseJsonPage(json, 'http://ix/simple/a/'), [
    { filename: 'a-1.0.tar.gz', url: 'https://files/a-1.0.tar.gz', sha256: 'cd'.repeat(32), requiresPython: undefined, yanked: 'bad' },
  ]);
});

test('core metadata: repeated and folded headers, body ignored', () => {
  const m = parseMetadata('Metadata-Version: 2.1\nName: a\nVersion: 1.0\nRequires-Dist: b>=1\nRequires-Dist: c ;\n  extra == "x"\nProvides-Extra: x\n\nRequires-Dist: not-a-header\n');
  assert.deepEqual(m, { name: 'a', version: '1.0', requiresDist: ['b>=1', 'c ; extra == "x"'], requiresPython: undefined, providesExtra: ['x'] });
});
