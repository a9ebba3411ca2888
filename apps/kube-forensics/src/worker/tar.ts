/**
 * A streaming tar (POSIX ustar + PAX headers for long names) of a directory tree: files are read as the
 * archive is consumed, so a large filesystem diff goes to S3 without being staged anywhere.
 *
 * Kept: regular files, directories, symlinks, and character devices (overlayfs marks a deleted path
 * in the upper dir with a 0/0 character device, a "whiteout", so deletions survive in the archive).
 * A file that grows while it is read (a log) is cut at the size it had when its header was written;
 * one that shrinks is padded with zeros, so the archive stays well-formed.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(fields: {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: string;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(fields.name, 0, 100, 'utf8');
  b.write(octal(fields.mode & 0o7777, 8), 100, 'ascii');
  b.write(octal(fields.uid, 8), 108, 'ascii');
  b.write(octal(fields.gid, 8), 116, 'ascii');
  b.write(octal(fields.size, 12), 124, 'ascii');
  b.write(octal(Math.floor(fields.mtime), 12), 136, 'ascii');
  b.write('        ', 148, 'ascii');
  b.write(fields.type, 156, 'ascii');
  if (fields.linkname) b.write(fields.linkname, 157, 100, 'utf8');
  b.write('ustar\0', 257, 'ascii');
  b.write('00', 263, 'ascii');
  b.write(octal(fields.devmajor ?? 0, 8), 329, 'ascii');
  b.write(octal(fields.devminor ?? 0, 8), 337, 'ascii');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return b;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** PAX extended header carrying a long path or link name. */
function paxHeader(records: Record<string, string>): Buffer[] {
  let body = '';
  for (const [key, value] of Object.entries(records)) {
    const tail = ` ${key}=${value}\n`;
    let len = Buffer.byteLength(tail) + 1;
    while (String(len).length + Buffer.byteLength(tail) !== len)
      len = String(len).length + Buffer.byteLength(tail);
    body += `${len}${tail}`;
  }
  const data = Buffer.from(body, 'utf8');
  return [
    header({ name: 'PaxHeader', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, type: 'x' }),
    data,
    padding(data.length),
  ];
}

async function* entry(full: string, rel: string): AsyncGenerator<Buffer> {
  const st = await lstat(full);
  const name = st.isDirectory() ? `${rel}/` : rel;
  const linkname = st.isSymbolicLink() ? await readlink(full) : undefined;
  const type = st.isFile()
    ? '0'
    : st.isDirectory()
      ? '5'
      : st.isSymbolicLink()
        ? '2'
        : st.isCharacterDevice()
          ? '3'
          : undefined;
  if (!type) return; // sockets, fifos, block devices: nothing to preserve
  const pax: Record<string, string> = {};
  if (Buffer.byteLength(name) > 100) pax.path = name;
  if (linkname && Buffer.byteLength(linkname) > 100) pax.linkpath = linkname;
  if (Object.keys(pax).length) yield* paxHeader(pax);
  const size = type === '0' ? st.size : 0;
  yield header({
    name: Buffer.byteLength(name) > 100 ? name.slice(-99) : name,
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size,
    mtime: st.mtimeMs / 1000,
    type,
    ...(linkname ? { linkname } : {}),
    ...(type === '3' ? { devmajor: Math.floor(st.rdev / 256), devminor: st.rdev % 256 } : {}),
  });
  if (type === '0') {
    let sent = 0;
    if (size > 0) {
      for await (const chunk of createReadStream(full, { start: 0, end: size - 1 })) {
        const buf = chunk as Buffer;
        sent += buf.length;
        yield buf;
      }
    }
    if (sent < size) yield Buffer.alloc(size - sent);
    yield padding(size);
  }
  if (type === '5') {
    for (const child of (await readdir(full)).sort()) yield* entry(join(full, child), `${rel}/${child}`);
  }
}

/**
 * A tar stream of `dir`'s contents, paths relative to `dir` under `prefix` (e.g. `upper`). The
 * directory's own absence fails the stream when it is first read.
 */
export function tarDirectory(dir: string, prefix: string): Readable {
  return Readable.from(
    (async function* () {
      const st = await lstat(dir);
      if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
      for (const child of (await readdir(dir)).sort())
        yield* entry(join(dir, child), prefix ? `${prefix}/${child}` : child);
      yield Buffer.alloc(BLOCK * 2); // end of archive
    })(),
  );
}
