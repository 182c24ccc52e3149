<?php
// Runs the checks Conn2Flow's installer (gestor 2.9.43, plugins-installer.php / plugin_process) applies to a
// package, in the same order and with the same PHP functions, as the reference describes them:
// size, .sha256 (trimmed, hash_equals), ZipArchive extraction, manifest location and validation,
// then json_decode of every db/data/*Data.json and the table each one syncs into.
// Usage: php installer-check.php <zip> [<sha256-file>]   Prints one JSON object; exits 0.
declare(strict_types=1);

function done(int $code, string $msg, array $extra = []): void {
    echo json_encode(['codigo_saida' => $code, 'mensagem' => $msg] + $extra, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
    exit(0);
}

function tabelaFromDataFile(string $file): string {
    $base = preg_replace('/Data\.json$/', '', basename($file));
    if (strpos($base, '_') !== false) return strtolower($base);
    return strtolower(preg_replace('/(?<!^)[A-Z]/', '_$0', $base));
}

function locateManifest(string $staging): ?string {
    if (is_file("$staging/manifest.json")) return "$staging/manifest.json";
    if (is_file("$staging/plugin/manifest.json")) return "$staging/plugin/manifest.json";
    $it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($staging, FilesystemIterator::SKIP_DOTS));
    foreach ($it as $f) if ($f->getFilename() === 'manifest.json') return $f->getPathname();
    return null;
}

[$zip, $sha] = [$argv[1], $argv[2] ?? null];
if (!is_file($zip) || filesize($zip) < 128) done(21, 'zip missing or < 128 B');
$checksum = hash_file('sha256', $zip);
if ($sha !== null) {
    $expectedChecksum = trim(file_get_contents($sha));
    if (!hash_equals($expectedChecksum, $checksum)) done(22, 'checksum mismatch');
}
$staging = sys_get_temp_dir() . '/c2f-installer-check-' . getmypid();
$za = new ZipArchive();
if ($za->open($zip) !== true) done(10, 'cannot open zip');
$za->extractTo($staging);
$za->close();
$manifestPath = locateManifest($staging);
if ($manifestPath === null) done(11, 'no manifest');
$manifest = json_decode(file_get_contents($manifestPath), true);
$errors = [];
if (!is_array($manifest)) $errors[] = 'manifest is not JSON';
else {
    foreach (['id', 'name', 'version'] as $r) if (empty($manifest[$r])) $errors[] = "Missing required field: $r";
    if (!empty($manifest['version']) && !preg_match('/^\d+\.\d+\.\d+$/', $manifest['version'])) $errors[] = 'Invalid version (use semantic x.y.z)';
    if (!empty($manifest['id']) && !preg_match('/^[a-z0-9][a-z0-9_-]*$/', $manifest['id'])) $errors[] = 'Invalid plugin ID';
}
if ($errors) done(11, implode('; ', $errors));
$root = dirname($manifestPath);
$tables = [];
foreach (glob("$root/db/data/*Data.json") ?: [] as $file) {
    $bytes = file_get_contents($file);
    $rows = json_decode($bytes, true);
    if (!is_array($rows)) done(11, basename($file) . ': json_decode failed: ' . json_last_error_msg());
    foreach ($rows as $row) {
        if (array_key_exists('checksum', $row) && !is_string($row['checksum']) && $row['checksum'] !== null) done(11, basename($file) . ': checksum is not a string');
    }
    $tables[basename($file)] = [
        'table' => tabelaFromDataFile($file),
        'rows' => count($rows),
        // Re-encoding with the generator's flags gives the same bytes only if the file is PHP-canonical.
        'canonical' => json_encode($rows, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE) === $bytes,
    ];
}
exec('rm -rf ' . escapeshellarg($staging));
done(0, 'ok', ['manifest' => ['id' => $manifest['id'], 'version' => $manifest['version']], 'root_is_staging' => $root === $staging, 'checksum_pacote' => $checksum, 'tables' => $tables]);
