import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { pack } from '../../src/plugin/pack.ts';
import { FIXTURES, REPO, run, tempDir } from '../helpers.ts';

// PHP 8.2 with ZipArchive (Debian's php-cli and php-zip, which .ci/run installs) runs the installer's own
// checks on our package: the same functions Conn2Flow calls, on the bytes we produce.
const CHECK = path.join(REPO, 'test', 'php', 'installer-check.php');

async function installerCheck(zip: string, sha?: string) {
  const result = await run('php', [CHECK, zip, ...(sha ? [sha] : [])]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

test("Conn2Flow's installer checks accept our package, and our Data.json is PHP-canonical", async () => {
  const summary = await pack(path.join(FIXTURES, 'plugins', 'full-plugin'), { outDir: await tempDir() });
  const result = await installerCheck(summary.zip.path, summary.sha256File);
  assert.equal(result.codigo_saida, 0, result.mensagem);
  assert.deepEqual(result.manifest, { id: 'full-plugin', version: '1.2.3' });
  assert.equal(result.root_is_staging, true, 'files sit at the zip root');
  assert.equal(result.checksum_pacote, summary.zip.sha256);
  assert.deepEqual(
    Object.fromEntries(
      Object.entries(result.tables as Record<string, { table: string; rows: number; canonical: boolean }>).map(
        ([file, t]) => [file, t.table],
      ),
    ),
    {
      'ComponentesData.json': 'componentes',
      'LayoutsData.json': 'layouts',
      'ModulosData.json': 'modulos',
      'PaginasData.json': 'paginas',
      'UsuariosPerfisModulosData.json': 'usuarios_perfis_modulos',
      'VariaveisData.json': 'variaveis',
    },
  );
  for (const file of ['LayoutsData.json', 'PaginasData.json', 'ComponentesData.json', 'VariaveisData.json']) {
    assert.equal(
      result.tables[file].canonical,
      true,
      `${file}: json_encode(json_decode(file)) must give the same bytes`,
    );
  }
});

test('the installer rejects a sha256sum-format file with 22, and our bare digest passes', async () => {
  const summary = await pack(path.join(FIXTURES, 'plugins', 'full-plugin'), { outDir: await tempDir() });
  const sums = path.join(path.dirname(summary.zip.path), 'sha256sum-format');
  await writeFile(sums, `${summary.zip.sha256}  gestor-plugin.zip\n`);
  assert.equal((await installerCheck(summary.zip.path, sums)).codigo_saida, 22);
  assert.equal((await installerCheck(summary.zip.path, summary.sha256File)).codigo_saida, 0);
});
