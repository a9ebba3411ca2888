/** The streaming tar writer, checked by GNU tar itself: long names (PAX), symlinks, empty and odd-sized files. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, expect, test } from '@jest/globals';
import { tarDirectory } from '../src/worker/tar.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('GNU tar lists and extracts what tarDirectory wrote, byte for byte', async () => {
  const src = mkdtempSync(join(tmpdir(), 'kf-tar-src-'));
  dirs.push(src);
  const deep = join('a'.repeat(60), 'b'.repeat(60), 'c'.repeat(30));
  mkdirSync(join(src, deep), { recursive: true });
  writeFileSync(join(src, deep, 'long-name-file.txt'), 'deep\n');
  writeFileSync(join(src, 'empty'), '');
  writeFileSync(join(src, 'odd.bin'), Buffer.alloc(513, 7));
  symlinkSync(`/${'x'.repeat(120)}`, join(src, 'link'));
  const archive = join(src, '..', `${src.split('/').pop()}.tar`);
  dirs.push(archive);
  writeFileSync(archive, await buffer(tarDirectory(src, 'upper')));

  const listed = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).trim().split('\n');
  expect(listed).toEqual([
    `upper/${'a'.repeat(60)}/`,
    `upper/${'a'.repeat(60)}/${'b'.repeat(60)}/`,
    `upper/${deep}/`,
    `upper/${deep}/long-name-file.txt`,
    'upper/empty',
    'upper/link',
    'upper/odd.bin',
  ]);
  const out = mkdtempSync(join(tmpdir(), 'kf-tar-out-'));
  dirs.push(out);
  execFileSync('tar', ['-xf', archive, '-C', out]);
  expect(execFileSync('cat', [join(out, 'upper', deep, 'long-name-file.txt')], { encoding: 'utf8' })).toBe(
    'deep\n',
  );
  expect(execFileSync('readlink', [join(out, 'upper', 'link')], { encoding: 'utf8' }).trim()).toBe(
    `/${'x'.repeat(120)}`,
  );
  expect(execFileSync('stat', ['-c', '%s', join(out, 'upper', 'odd.bin')], { encoding: 'utf8' }).trim()).toBe(
    '513',
  );
});

test('a missing directory fails the stream (the artifact is reported failed, not empty)', async () => {
  await expect(buffer(tarDirectory('/nonexistent/kf', 'logs'))).rejects.toThrow(/ENOENT/);
});
