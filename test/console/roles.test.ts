import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readBotConfig } from '../../src/bot/config.ts';
import { mayDo, roleOf } from '../../src/bot/console/roles.ts';
import { consoleSignIn } from '../../src/bot/server.ts';

// The console's roles from the configuration: lists of logins, the organisation's members, and the users of a
// bot set up before there were roles.

const base = {
  APP_ID: '1',
  C2F_BOT_URL: 'https://bot.example.com',
  C2F_SECRET_KEY: Buffer.alloc(32, 1).toString('base64'),
  WEBHOOK_SECRET: 's',
  GITHUB_CLIENT_ID: 'Iv23x',
  GITHUB_CLIENT_SECRET: 'x',
};

function rolesOf(env: Record<string, string>) {
  const { signIn } = consoleSignIn(readBotConfig({ ...base, ...env }), {});
  return signIn!.roles;
}

test('viewer, operator and admin lists; a login on several has the highest; case does not matter', () => {
  const roles = rolesOf({
    C2F_CONSOLE_VIEWERS: 'vera,Otto',
    C2F_CONSOLE_USERS: 'otto',
    C2F_CONSOLE_ADMINS: 'ada',
    C2F_CONSOLE_ORG: 'ops',
  });
  assert.equal(roleOf(roles, 'VERA', false), 'viewer');
  assert.equal(roleOf(roles, 'otto', false), 'operator');
  assert.equal(roleOf(roles, 'ada', false), 'admin');
  assert.equal(roleOf(roles, 'member', true), 'operator', "an organisation member: C2F_CONSOLE_ORG_ROLE's default");
  assert.equal(roleOf(roles, 'stranger', false), undefined);
  assert.equal(roleOf(rolesOf({ C2F_CONSOLE_ORG: 'ops', C2F_CONSOLE_ORG_ROLE: 'viewer' }), 'm', true), 'viewer');
});

test('without C2F_CONSOLE_ADMINS, the listed users keep every power', () => {
  assert.equal(roleOf(rolesOf({ C2F_CONSOLE_USERS: 'octocat' }), 'octocat', false), 'admin');
});

test('what each role may do', () => {
  assert.deepEqual(
    (['viewer', 'operator', 'admin'] as const).map((role) => [
      mayDo(role, 'viewer'),
      mayDo(role, 'operator'),
      mayDo(role, 'admin'),
    ]),
    [
      [true, false, false],
      [true, true, false],
      [true, true, true],
    ],
  );
});

test('an unknown organisation role is refused at start-up, named', () => {
  assert.throws(() => readBotConfig({ ...base, C2F_CONSOLE_ORG_ROLE: 'owner' }), /C2F_CONSOLE_ORG_ROLE/);
  assert.throws(
    () => readBotConfig({ ...base, C2F_CONSOLE_TEAM_ADMINS: 'release-admins' }),
    /C2F_CONSOLE_TEAM_\* name teams of C2F_CONSOLE_ORG, which is not set/,
  );
  assert.throws(
    () => readBotConfig({ ...base, C2F_CONSOLE_ORG: 'acme', C2F_CONSOLE_TEAM_VIEWERS: 'Not A Slug!' }),
    /C2F_CONSOLE_TEAM_ADMINS, C2F_CONSOLE_TEAM_OPERATORS and C2F_CONSOLE_TEAM_VIEWERS/,
  );
});
