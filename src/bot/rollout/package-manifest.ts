import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { checkManifest, type Manifest } from '../../plugin/manifest.ts';
import { readZip, ZipReadError } from '../../plugin/zip-reader.ts';

// The package's own manifest.json, read by the bot before anything is planned: its bytes must be the ones
// the .sha256 names (checked here, not only GitHub's digest), it must be a valid package, and its id and
// version must be the ones the tag names. Its dependencies are what the bot checks against each host.

/** A package the bot refuses to roll out; the release fails with this reason. */
export class PackageRefused extends Error {}

export const MAX_PACKAGE_BYTES = 256 * 1024 * 1024;

export async function readPackageManifest(
  download: () => Promise<ReadableStream<Uint8Array> | globalThis.ReadableStream<Uint8Array>>,
  expected: { sha256: string; pluginId: string; version: string },
  maxBytes = MAX_PACKAGE_BYTES,
): Promise<{ manifest: Manifest; blake2b: Buffer }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'c2f-bot-package-'));
  const file = path.join(dir, 'gestor-plugin.zip');
  try {
    const hash = createHash('sha256');
    const blake2b = createHash('blake2b512'); // what a publisher's signature covers
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > maxBytes)
          return done(new PackageRefused(`gestor-plugin.zip is larger than ${maxBytes} bytes: nothing is rolled out`));
        hash.update(chunk);
        blake2b.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb((await download()) as ReadableStream<Uint8Array>), meter, createWriteStream(file));
    const actual = hash.digest('hex');
    if (actual !== expected.sha256)
      throw new PackageRefused(
        `the downloaded gestor-plugin.zip has SHA-256 ${actual}, not the ${expected.sha256} its .sha256 names: nothing is rolled out`,
      );
    let text: string;
    try {
      const zip = await readZip(file, (name) => name === 'manifest.json', 1024 * 1024);
      const content = zip.contents.get('manifest.json');
      if (!content)
        throw new PackageRefused('gestor-plugin.zip has no manifest.json at its root: Conn2Flow cannot install it');
      text = content.toString('utf8');
    } catch (error) {
      if (error instanceof ZipReadError)
        throw new PackageRefused(`gestor-plugin.zip is not a usable zip (${error.message}): nothing is rolled out`);
      throw error;
    }
    const { manifest, diagnostics } = checkManifest(text);
    if (!manifest) {
      const errors = diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
      throw new PackageRefused(`the package's manifest.json is invalid: ${errors.join('; ')}`);
    }
    if (manifest.id !== expected.pluginId || manifest.version !== expected.version) {
      throw new PackageRefused(
        `the package's manifest.json says ${manifest.id} ${manifest.version} but the tag names ${expected.pluginId} ${expected.version}: nothing is rolled out`,
      );
    }
    return { manifest, blake2b: blake2b.digest() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
