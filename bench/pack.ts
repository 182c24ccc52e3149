// bench/pack: c2f-plugin pack against `zip -r -q -6` + `sha256sum` on the same synthetic plugin, in the
// same run. Goal: pack (with Data.json generation and validation) ≤ 1.3× the baseline; peak RSS < 150 MB.
import { spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const work = path.join(tmpdir(), `c2f-bench-pack-${process.pid}`);
let plugin = path.join(work, 'plugin');

// A small deterministic PRNG, so every run packs the same tree.
let state = 0x2f6e2b1;
const random = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 0x100000000;
};
const WORDS =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua página ação coração'.split(
    ' ',
  );
const text = (bytes: number) => {
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const word = WORDS[Math.floor(random() * WORDS.length)];
    parts.push(word);
    size += word.length + 1;
  }
  return parts.join(' ');
};
const noise = (bytes: number) => {
  const buffer = Buffer.alloc(bytes + 4);
  for (let i = 0; i < bytes; i += 4) buffer.writeUInt32LE((random() * 0x100000000) >>> 0, i);
  return buffer.subarray(0, bytes);
};

async function put(rel: string, content: string | Buffer) {
  const file = path.join(plugin, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}

async function generatePlugin(textOnly: boolean): Promise<{ resources: number; assets: number; assetBytes: number }> {
  const languages = ['pt-br', 'en'];
  let resources = 0;
  await put('manifest.json', JSON.stringify({ id: 'bench-plugin', name: 'Bench Plugin', version: '1.0.0' }, null, 4));
  await put(
    'resources/resources.map.php',
    `<?php\nreturn ['languages' => [\n${languages.map((l) => `  '${l}' => ['name' => '${l}', 'data' => ['layouts' => 'layouts.json', 'pages' => 'pages.json', 'components' => 'components.json', 'variables' => 'variables.json'], 'version' => '1'],`).join('\n')}\n]];\n`,
  );
  for (const lang of languages) {
    const layouts = Array.from({ length: 100 }, (_, i) => ({ id: `layout-${i}`, name: `Layout ${i}`, version: '1.0' }));
    const components = Array.from({ length: 150 }, (_, i) => ({
      id: `component-${i}`,
      name: `Component ${i}`,
      version: '1.0',
    }));
    const pages = Array.from({ length: 200 }, (_, i) => ({
      id: `page-${i}`,
      name: `Page ${i}`,
      layout: `layout-${i % 100}`,
      path: `page-${i}/`,
      type: 'page',
      root: null,
      version: '1.0',
    }));
    const variables = Array.from({ length: 200 }, (_, i) => ({
      id: `var-${i}`,
      value: text(40),
      type: 'string',
      group: i % 2 ? 'g' : null,
    }));
    await put(`resources/${lang}/layouts.json`, JSON.stringify(layouts, null, 4));
    await put(`resources/${lang}/components.json`, JSON.stringify(components, null, 4));
    await put(`resources/${lang}/pages.json`, JSON.stringify(pages, null, 4));
    await put(`resources/${lang}/variables.json`, JSON.stringify(variables, null, 4));
    for (const [type, list] of [
      ['layouts', layouts],
      ['components', components],
      ['pages', pages],
    ] as const) {
      for (const item of list) {
        await put(
          `resources/${lang}/${type}/${item.id}/${item.id}.html`,
          `<div>${text(2000 + Math.floor(random() * 6000))}</div>\n`,
        );
        if (type !== 'components')
          await put(`resources/${lang}/${type}/${item.id}/${item.id}.css`, `.x{content:"${text(500)}"}\n`);
      }
    }
    resources += layouts.length + components.length + pages.length + variables.length;
  }
  for (let m = 0; m < 10; m++) {
    const id = `module-${m}`;
    const res: Record<string, unknown> = {};
    for (const lang of languages) {
      const pages = Array.from({ length: 20 }, (_, i) => ({
        id: `${id}-page-${i}`,
        name: `P${i}`,
        path: `${id}/p${i}/`,
        type: 'system',
      }));
      const components = Array.from({ length: 10 }, (_, i) => ({ id: `${id}-comp-${i}`, name: `C${i}` }));
      const layouts = Array.from({ length: 5 }, (_, i) => ({ id: `${id}-layout-${i}`, name: `L${i}` }));
      const variables = Array.from({ length: 5 }, (_, i) => ({ id: `${id}-var-${i}`, value: 'x', type: 'string' }));
      res[lang] = { pages, components, layouts, variables };
      for (const [type, list] of [
        ['pages', pages],
        ['components', components],
        ['layouts', layouts],
      ] as const) {
        for (const item of list)
          await put(
            `modules/${id}/resources/${lang}/${type}/${item.id}/${item.id}.html`,
            `<section>${text(3000)}</section>\n`,
          );
      }
      resources += pages.length + components.length + layouts.length + variables.length;
    }
    await put(`modules/${id}/${id}.json`, JSON.stringify({ versao: '1.0.0', resources: res }, null, 4));
    await put(`modules/${id}/${id}.php`, `<?php\n// ${text(2000)}\n`);
  }
  // Assets: 3,000 files, about 52 MB. Mixed: a third incompressible (images, fonts), the rest text-like, and a
  // 4 MiB video. Text only: SVG, JS, CSS and HTML, all of it compressible (deflate's slowest case).
  let assetBytes = 0;
  const assets = 3000;
  const TEXT_KINDS = ['svg', 'js', 'css', 'html'];
  for (let i = 0; i < assets; i++) {
    const size = 8000 + Math.floor(random() * 20000);
    const binary = !textOnly && i % 3 === 0;
    const kind = binary ? 'png' : TEXT_KINDS[i % TEXT_KINDS.length];
    await put(`assets/${kind}/${Math.floor(i / 100)}/asset-${i}.${kind}`, binary ? noise(size) : text(size));
    assetBytes += size;
  }
  if (textOnly) return { resources, assets, assetBytes };
  await put('assets/video/intro.bin', noise(4 * 1024 * 1024 + 123));
  assetBytes += 4 * 1024 * 1024 + 123;
  return { resources, assets: assets + 1, assetBytes };
}

/** Runs a command under GNU time; returns wall seconds and peak RSS in MB. */
function timed(command: string, args: string[], cwd: string): { seconds: number; rssMb: number } {
  const start = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', command, ...args], { cwd, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  const rssKb = Number(result.stderr.trim().split('\n').at(-1));
  return { seconds, rssMb: rssKb / 1024 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

if (!process.env.BENCH_KEEP) await rm(work, { recursive: true, force: true });
const built = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'build.ts')], { cwd: REPO, encoding: 'utf8' });
if (built.status !== 0) throw new Error(built.stderr);
async function measure(label: string, goal: number): Promise<void> {
  const shape = await generatePlugin(label === 'text-heavy');
  console.log(
    `${label} plugin: ${shape.resources} resources in 2 languages and 10 modules, ${shape.assets} asset files, ${(shape.assetBytes / 1024 / 1024).toFixed(1)} MiB of assets`,
  );
  const ours: number[] = [];
  const baseline: number[] = [];
  let peak = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const out = path.join(work, `out-${label}-${round}`);
    await mkdir(out, { recursive: true });
    const zipFile = path.join(work, `baseline-${label}-${round}.zip`);
    const z = timed('zip', ['-r', '-q', '-6', zipFile, '.'], plugin);
    const s = timed('sha256sum', [zipFile], work);
    baseline.push(z.seconds + s.seconds);
    const p = timed(
      process.execPath,
      [path.join(REPO, 'dist', 'cli.js'), 'pack', plugin, '--out', out, '--quiet'],
      work,
    );
    ours.push(p.seconds);
    peak = Math.max(peak, p.rssMb);
  }
  const ratio = median(ours) / median(baseline);
  console.log(`  zip -r -q -6 + sha256sum: ${median(baseline).toFixed(2)} s (median of ${ROUNDS})`);
  console.log(`  c2f-plugin pack: ${median(ours).toFixed(2)} s (median of ${ROUNDS}), peak RSS ${peak.toFixed(0)} MB`);
  console.log(
    `  ratio pack / (zip+sha256sum): ${ratio.toFixed(2)} (goal <= ${goal.toFixed(2)}: ${ratio <= goal ? 'met' : 'missed'})`,
  );
  console.log(`  peak RSS: ${peak.toFixed(0)} MB (goal < 150 MB: ${peak < 150 ? 'met' : 'missed'})`);
}

await measure('mixed', 1.3);
plugin = path.join(work, 'plugin-text');
await measure('text-heavy', 1.0);
if (!process.env.BENCH_KEEP) await rm(work, { recursive: true, force: true });
