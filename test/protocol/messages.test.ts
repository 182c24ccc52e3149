import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AGENT_EXIT, OUR_EXIT, PLG_EXIT, label } from '../../src/protocol/exit-codes.ts';
import type { Job, Report } from '../../src/protocol/messages.ts';
import { jobStateForReport } from '../../src/protocol/statuses.ts';
import {
  checkAck,
  checkEnrollment,
  checkHeartbeat,
  checkJob,
  checkReport,
  parseChecked,
} from '../../src/protocol/validate.ts';

const job: Job = {
  type: 'job',
  protocol: 1,
  jobId: 'job_01',
  attemptId: 'msg_01',
  rolloutId: 'ro_01',
  hostId: 'host_01',
  action: 'update',
  plugin: { id: 'test-plugin-public', name: 'Test Plugin Public', version: '0.1.10', previousVersion: '0.1.9' },
  source: {
    repository: 'otavioserra/conn2flow-plugins-public',
    tag: 'plugin-test-plugin-public-v0.1.10',
    releaseId: 123,
  },
  package: {
    fileName: 'gestor-plugin.zip',
    size: 4096,
    sha256: 'a'.repeat(64),
    url: 'https://bot.example.com/packages/job_01?token=x',
    urlExpiresAt: '2026-11-23T10:00:00Z',
  },
  options: { force: false, skipMigrations: false },
  reportUrl: 'https://bot.example.com/api/reports',
  deadline: '2026-11-25T10:00:00Z',
  createdAt: '2026-11-22T10:00:00Z',
};

const report: Report = {
  type: 'report',
  protocol: 1,
  jobId: 'job_01',
  attemptId: 'msg_01',
  hostId: 'host_01',
  status: 'ok',
  exitCode: 0,
  exitLabel: 'OK',
  message: 'installed 0.1.10',
  logTail: ['[2026-11-22T10:00:05Z] [PLUGIN:test-plugin-public] ok'],
  installedVersion: '0.1.10',
  timings: {
    receivedAt: '2026-11-22T10:00:01Z',
    startedAt: '2026-11-22T10:00:02Z',
    finishedAt: '2026-11-22T10:00:05Z',
    downloadMs: 120,
    installMs: 2500,
    verifyMs: 40,
  },
  sentAt: '2026-11-22T10:00:05Z',
};

test('valid messages pass their schemas', () => {
  assert.deepEqual(checkJob(job), { ok: true, value: job });
  assert.equal(checkReport(report).ok, true);
  assert.equal(
    checkReport({
      ...report,
      inventory: {
        pluginId: 'test-plugin-public',
        version: '0.1.9',
        sha256: null,
        problem: 'the plugins row says 0.1.10, the files are 0.1.9',
      },
    }).ok,
    true,
  );
  assert.equal(checkReport({ ...report, attemptId: undefined }).ok, false, 'a report names its attempt');
  assert.equal(
    checkHeartbeat({
      type: 'heartbeat',
      protocol: 1,
      hostId: 'host_01',
      agentVersion: '0.1.0',
      inventory: [{ pluginId: 'x', version: '1.0.0', sha256: null }],
      pollSeconds: 0,
      sentAt: '2026-11-22T10:00:00Z',
    }).ok,
    true,
  );
  assert.equal(
    checkEnrollment({
      type: 'enroll',
      protocol: 1,
      token: 'c2fenroll_0123456789abcdef',
      agentVersion: '0.1.0',
      url: null,
    }).ok,
    true,
  );
  assert.equal(checkAck({ status: 'known', jobId: 'job_01', report }).ok, true);
});

test('invalid messages fail with readable reasons', () => {
  const bad = { ...job, action: 'explode', plugin: { ...job.plugin, version: '1.0.0-beta' }, extra: true };
  const result = checkJob(bad);
  assert.equal(result.ok, false);
  assert.deepEqual(!result.ok && result.errors.sort(), [
    '(the message): unknown property "extra"',
    '/action: must be one of "install", "update", "rollback", "uninstall", "notify"',
    '/plugin/version: must match pattern "^[0-9]+\\.[0-9]+\\.[0-9]+$"',
  ]);
  assert.equal(checkJob({ ...job, package: { ...job.package, url: 'file:///etc/passwd' } }).ok, false);
  assert.equal(checkJob({ ...job, deadline: 'tomorrow' }).ok, false);
  assert.equal(checkReport({ ...report, status: 'done' }).ok, false);
  assert.equal(checkReport({ ...report, logTail: Array(51).fill('x') }).ok, false);
  const notJson = parseChecked('{oops', checkJob);
  assert.equal(notJson.ok, false);
  assert.match(!notJson.ok ? notJson.errors[0] : '', /^body is not JSON/);
});

test("exit codes: Conn2Flow's values unchanged, ours in ranges of their own, labels for all", () => {
  assert.deepEqual(PLG_EXIT, {
    OK: 0,
    PARAMS_OR_FILE: 10,
    VALIDATE: 11,
    MOVE: 12,
    DOWNLOAD: 20,
    ZIP_INVALID: 21,
    CHECKSUM: 22,
    DEPENDENCY: 30,
    INCOMPATIBLE: 31,
    ALREADY_INSTALLED: 32,
  });
  const conn2flow = new Set<number>(Object.values(PLG_EXIT));
  for (const code of [...Object.values(AGENT_EXIT), ...Object.values(OUR_EXIT)])
    assert.ok(!conn2flow.has(code), `${code} collides with Conn2Flow`);
  assert.ok(Object.values(AGENT_EXIT).every((code) => code >= 40 && code <= 49));
  assert.equal(label(22), 'CHECKSUM');
  assert.equal(label(43), 'VERIFY_FAILED');
  assert.equal(label(99), 'UNKNOWN');
});

test("host statuses map onto the bot's job states", () => {
  assert.equal(jobStateForReport('instalando'), 'in_progress');
  assert.equal(jobStateForReport('atualizando'), 'in_progress');
  assert.equal(jobStateForReport('ok'), 'ok');
  assert.equal(jobStateForReport('erro'), 'failed');
});
