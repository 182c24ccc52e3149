// The licence texts of the code a bundle contains: every package esbuild put into it (read from its
// metafile), with its name, version, licence and the licence file it ships. The builds write these notices
// beside the bundles; test/build/third-party-notices.test.ts checks that none is missing.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Metafile } from 'esbuild';

export interface BundledPackage {
  name: string;
  version: string;
  license: string;
  /** The package's licence file(s), as shipped; empty when it ships none. */
  text: string;
}

/** The package directories (relative to the repository) whose files a bundle contains. */
export function bundledPackageDirs(metafile: Metafile): string[] {
  const dirs = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) dirs.add(match[1]);
  }
  return [...dirs].sort();
}

async function readPackage(repo: string, dir: string): Promise<BundledPackage> {
  const manifest = JSON.parse(await readFile(path.join(repo, dir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license?: string | { type: string };
  };
  const license = typeof manifest.license === 'object' ? manifest.license.type : (manifest.license ?? 'UNKNOWN');
  const files = (await readdir(path.join(repo, dir))).filter((f) => /^(licen[cs]e|copying|notice)/i.test(f)).sort();
  const texts = await Promise.all(files.map((f) => readFile(path.join(repo, dir, f), 'utf8')));
  return { name: manifest.name, version: manifest.version, license, text: texts.map((t) => t.trim()).join('\n\n') };
}

/** One package per name and version, sorted, whatever number of copies node_modules holds. */
export async function bundledPackages(repo: string, metafiles: Metafile[]): Promise<BundledPackage[]> {
  const dirs = [...new Set(metafiles.flatMap(bundledPackageDirs))];
  const byId = new Map<string, BundledPackage>();
  for (const dir of dirs) {
    const pkg = await readPackage(repo, dir);
    byId.set(`${pkg.name}@${pkg.version}`, pkg);
  }
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

export function renderNotices(what: string, packages: BundledPackage[], extra: BundledPackage[] = []): string {
  const all = [...extra, ...packages];
  const sections = all.map((p) => {
    const text = p.text || `(the package ships no licence file; its package.json says ${p.license})`;
    return `${p.name} ${p.version} (${p.license})\n${'-'.repeat(72)}\n${text}\n`;
  });
  return `Third-party software in ${what}\n\n${all.map((p) => `- ${p.name} ${p.version} (${p.license})`).join('\n')}\n\n${'='.repeat(72)}\n\n${sections.join(`\n${'='.repeat(72)}\n\n`)}`;
}
