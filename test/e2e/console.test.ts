import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { verifyMessage } from '../../src/protocol/signing.ts';
import { minimalPackage } from '../../dev/minimal-package.ts';
import { REPO as ROOT, tempDir, waitFor } from '../helpers.ts';
import {
  BUNDLE_AGENT,
  botSecrets,
  bundleBuilt,
  bundleCli,
  freePort,
  runAgent,
  startBundleAgent,
  startBundleBot,
  type BundleAgent,
  type BundleBot,
} from './bundle.ts';
import { publishRelease } from './publish-release.ts';

// The operator console in a real browser (Debian's Chromium, headless, driven by playwright-core) against the
// bot from the bundle, three real agents and the GitHub stand-in, which plays GitHub's sign-in: a user the
// bot does not allow is refused; an allowed one signs in, watches a rollout go to ok live, approves a manual
// host, retries a failed one, rolls one back, and is refused an action without the session's CSRF token.
// Every page is checked with axe-core, and photographed into C2F_SCREENSHOTS_DIR when it is set.

const REPO = 'conn2flow/console';
const PLUGIN = 'console-plugin';
const SHOTS = process.env.C2F_SCREENSHOTS_DIR;
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const AXE = await readFile(path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** axe-core finds no violation of any impact, at 1366 px and on a 375 px phone, where nothing scrolls sideways. */
async function accessible(page: Page, name: string): Promise<void> {
  const desk = page.viewportSize() ?? { width: 1366, height: 900 };
  for (const size of [
    { width: 1366, height: 900 },
    { width: 375, height: 740 },
  ]) {
    await page.setViewportSize(size);
    // Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern; once
    // per page.
    if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(AXE);
    const found = await page.evaluate(async () => {
      const g = globalThis as unknown as {
        axe: {
          run(options: {
            resultTypes: string[];
          }): Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: unknown[] }> }>;
        };
        document: { documentElement: { scrollWidth: number } };
        innerWidth: number;
      };
      // Every rule runs; only the details of what passed are left out (axe's own advice for speed).
      const result = await g.axe.run({ resultTypes: ['violations'] });
      return {
        violations: result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}, ${v.nodes.length} element(s)`),
        overflow: g.document.documentElement.scrollWidth - g.innerWidth,
      };
    });
    assert.deepEqual(found.violations, [], `${name} at ${size.width} px: accessibility violations`);
    assert.ok(found.overflow <= 0, `${name} at ${size.width} px scrolls sideways by ${found.overflow} px`);
    if (SHOTS) {
      await mkdir(SHOTS, { recursive: true });
      // A full-page picture on a busy two-core machine can take Chromium a while: allowed more than the default.
      await page.screenshot({ path: path.join(SHOTS, `${name}-${size.width}.png`), fullPage: true, timeout: 90_000 });
    }
  }
  await page.setViewportSize(desk);
}

test('the console: sign-in with GitHub (refused, then allowed; roles from lists, the organisation and its teams), a rollout live, approve, retry, roll back, yank and un-yank told to a signed endpoint, a start scheduled and a wave approved, CSRF refused, every page accessible', {
  // About 90 s alone; under load, twice that and more.
  timeout: 480_000,
}, async () => {
  await bundleBuilt();
  const github = await new GitHubStandIn().start();
  const port = await freePort();
  const botUrl = `http://127.0.0.1:${port}`;
  const secrets = botSecrets();
  const app = github.apps.trust(1, secrets.privateKey, secrets.webhookSecret, {
    callback_urls: [`${botUrl}/console/oauth/callback`],
  });
  github.oauth.orgMembers.set('conn2flow-ops', new Set(['org-member', 'team-admin']));
  github.oauth.teamMembers.set('conn2flow-ops/release-admins', new Set(['team-admin']));
  let bot: BundleBot | undefined;
  let browser: Browser | undefined;
  const agents: BundleAgent[] = [];
  try {
    bot = await startBundleBot(github, {
      port,
      secrets,
      env: {
        GITHUB_CLIENT_ID: app.clientId,
        GITHUB_CLIENT_SECRET: app.clientSecret,
        C2F_CONSOLE_USERS: 'octo-operator',
        C2F_CONSOLE_ADMINS: 'octo-operator',
        C2F_CONSOLE_VIEWERS: 'octo-viewer',
        C2F_CONSOLE_ORG: 'conn2flow-ops',
        C2F_CONSOLE_TEAM_ADMINS: 'release-admins',
        C2F_CHECK_RUN_DELAY_SECONDS: '0',
      },
    });
    const cli = (...args: string[]) => bundleCli(args, bot!.cliEnv);
    const flag = path.join(await tempDir('c2f-flaky-'), 'fixed');
    const hosts: Record<string, string> = {};
    for (const [name, policy, command] of [
      ['shop-auto', 'auto', 'echo "$C2F_ACTION $C2F_VERSION"'],
      ['office-manual', 'manual', 'echo "$C2F_ACTION $C2F_VERSION"'],
      ['school-flaky', 'auto', `test -f '${flag}' && echo fixed || exit 11`],
    ] as const) {
      const created = await cli(
        'hosts',
        'enroll-token',
        '--name',
        name,
        '--plugin',
        `${REPO}:${PLUGIN}`,
        '--policy',
        policy,
        '--allow-private-network',
        '--label',
        'console',
        '--json',
      );
      assert.equal(created.code, 0, created.stderr);
      const { host, token } = JSON.parse(created.stdout) as { host: { id: string }; token: string };
      const configFile = path.join(await tempDir(`c2f-${name}-`), 'c2f-agent.json');
      const enrolled = await runAgent(BUNDLE_AGENT, [
        'enroll',
        '--bot',
        botUrl,
        '--token',
        token,
        '--url',
        `http://127.0.0.1:${await freePort()}/c2f/jobs`,
        '--installer-command',
        command,
        '--config',
        configFile,
        '--allow-http-downloads',
      ]);
      assert.equal(enrolled.code, 0, enrolled.stderr);
      agents.push(await startBundleAgent(configFile));
      hosts[name] = host.id;
    }
    const publish = async (version: string) => {
      const release = await publishRelease(
        github,
        { url: botUrl, webhookSecret: secrets.webhookSecret },
        { repository: REPO, plugin: PLUGIN, version, zip: await minimalPackage(PLUGIN, version) },
      );
      // Watched through the admin API: a CLI process per look would cost more than the look.
      return waitFor(async () => {
        const answer = await fetch(`${botUrl}/api/admin/rollouts`, {
          headers: { authorization: `Bearer ${secrets.adminToken}` },
        });
        const rollouts = (await answer.json()) as Array<{ id: string; releaseId: number }>;
        return rollouts.find((r) => r.releaseId === release.id)?.id;
      }, `the rollout of ${version}`);
    };

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    const signIn = async (login: string, options: { timezoneId?: string } = {}) => {
      github.oauth.signedIn = login;
      const context = await browser!.newContext(options);
      const page = await context.newPage();
      await page.goto(`${botUrl}/console/fleet`);
      assert.match(page.url(), /\/console\/sign-in$/, 'a visitor without a session is sent to sign in');
      await page.getByRole('link', { name: 'Sign in with GitHub' }).click();
      await page.waitForLoadState();
      return page;
    };

    // Who may not enter is told so; an organisation member and a listed user may.
    const stranger = await signIn('mallory');
    await assert.doesNotReject(stranger.getByText('mallory may not use this console').waitFor());
    await accessible(stranger, 'sign-in-refused');
    const member = await signIn('org-member');
    await member.getByRole('heading', { name: 'Fleet' }).waitFor();
    // An organisation member is an operator (C2F_CONSOLE_ORG_ROLE's default): no host management, on the server too.
    assert.equal(await member.getByRole('link', { name: 'Enroll a host' }).count(), 0);
    assert.equal(await member.getByRole('button', { name: 'Sign out everyone' }).count(), 0);
    const memberCsrf = (await member.locator('input[name=csrf]').first().getAttribute('value'))!;
    const refusedEnroll = await member.request.post(`${botUrl}/console/hosts/new`, {
      form: { csrf: memberCsrf, name: 'sneaky', confirm: 'yes' },
    });
    assert.equal(refusedEnroll.status(), 403);
    assert.match(await refusedEnroll.text(), /Your role \(operator\) may not manage hosts/);
    assert.equal((await member.request.get(`${botUrl}/console/hosts/new`)).status(), 403);
    const refusedYank = await member.request.post(`${botUrl}/console/registry/${REPO}/${PLUGIN}/1.0.0/yank`, {
      form: { csrf: memberCsrf, reason: 'sneaky', confirm: 'yes' },
    });
    assert.equal(refusedYank.status(), 403);
    assert.match(await refusedYank.text(), /Your role \(operator\) may not yank or un-yank releases/);
    assert.equal((await member.request.get(`${botUrl}/console/notifications`)).status(), 403);
    assert.equal(await member.getByRole('link', { name: 'Notifications' }).count(), 0);
    await member.context().close();
    // A member of a team named in C2F_CONSOLE_TEAM_ADMINS is an admin.
    const teamAdmin = await signIn('team-admin');
    await teamAdmin.getByRole('heading', { name: 'Fleet' }).waitFor();
    assert.match(await teamAdmin.locator('header').innerText(), /team-admin \(admin\)/);
    await teamAdmin.getByRole('link', { name: 'Notifications' }).waitFor();
    await teamAdmin.context().close();
    const page = await signIn('octo-operator');
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    for (const name of Object.keys(hosts)) await page.getByRole('link', { name }).first().waitFor();
    await accessible(page, 'fleet');
    await page.getByLabel('Name, id or plugin').fill('office');
    await page.getByRole('button', { name: 'Filter' }).click();
    assert.match((await page.locator('main').innerText()).replace(/\s+/g, ' '), /1 host; page 1 of 1\./);

    // A rollout, live: the page is not reloaded, the auto host's row turns ok.
    const first = await publish('1.0.0');
    await page.goto(`${botUrl}/console/rollouts`);
    await accessible(page, 'rollouts');
    await page.goto(`${botUrl}/console/rollouts/${first}`);
    await page.evaluate(() => {
      (globalThis as unknown as { stayed: boolean }).stayed = true;
    });
    const row = (host: string) => page.locator(`tr:has(a[href="/console/hosts/${hosts[host]}"])`);
    await waitFor(
      async () => /\bok\b/.test(await row('shop-auto').innerText()),
      'the auto host to show ok live',
      30_000,
    );
    await waitFor(
      async () => /failed/.test(await row('school-flaky').innerText()),
      'the flaky host to show failed live',
      30_000,
    );
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as { stayed?: boolean }).stayed),
      true,
      'updated without a reload',
    );
    assert.match(await row('office-manual').innerText(), /awaiting approval/);
    // While it runs, when it likely ends: from how long its finished jobs took.
    await waitFor(
      async () => /Estimate: ends .+ \(a job takes about \d+ s here\)\./.test(await page.locator('main').innerText()),
      'an estimate of the running rollout',
      30_000,
    );
    await accessible(page, 'rollout');

    // Approve the manual host: a confirmation page, then the action, recorded as done by the signed-in user.
    await row('office-manual')
      .getByRole('button', { name: /^Approve/ })
      .click();
    await page.getByText(/Install on office-manual now\?/).waitFor();
    await accessible(page, 'confirm');
    assert.equal(await focused(page), 'Yes, do it', 'a harmless action starts on its button');
    await page.getByRole('button', { name: 'Yes, do it' }).click();
    await page.getByText(/approve: 1 job\(s\) changed/).waitFor();
    // A viewer reads the same page and is offered nothing to do; the server refuses what it is sent anyway.
    const viewer = await signIn('octo-viewer');
    await viewer.goto(`${botUrl}/console/rollouts/${first}`);
    await viewer.getByText(/^State: /).waitFor();
    assert.equal(await viewer.locator('main form[action$="/act"]').count(), 0, 'a viewer is offered no action');
    const viewerCsrf = (await viewer.locator('input[name=csrf]').first().getAttribute('value'))!;
    const refusedAct = await viewer.request.post(`${botUrl}/console/rollouts/${first}/act`, {
      form: { csrf: viewerCsrf, action: 'retry', confirm: 'yes' },
    });
    assert.equal(refusedAct.status(), 403);
    assert.match(await refusedAct.text(), /Your role \(viewer\) may not act on rollouts/);
    await accessible(viewer, 'rollout-viewer');
    await viewer.context().close();
    // The timeline says it, with the host's name and who did it.
    await page
      .locator('ol.timeline li')
      .filter({ hasText: /operator approve on office-manual by octo-operator \(console\)$/ })
      .waitFor();
    // The same approval again changes nothing, and says why.
    const again = await page.request.post(`${botUrl}/console/rollouts/${first}/act`, {
      form: {
        csrf: (await page.locator('input[name=csrf]').first().getAttribute('value'))!,
        action: 'approve',
        confirm: 'yes',
      },
    });
    assert.match(await again.text(), /approve: nothing changed: no job was awaiting approval/);
    await waitFor(
      async () => /\bok\b/.test(await row('office-manual').innerText()),
      'the approved host to install',
      30_000,
    ).catch(async (error) => {
      throw new Error(
        `${error.message}\n${(await cli('rollouts', 'show', first)).stdout}\n${await row('office-manual').innerText()}`,
      );
    });

    // Retry the failed host once its cause is fixed.
    await writeFile(flag, '');
    await row('school-flaky')
      .getByRole('button', { name: /^Retry/ })
      .click();
    await page.getByRole('button', { name: 'Yes, do it' }).click();
    await page.getByText(/^retry: 1 job\(s\) changed/).waitFor();
    await page.evaluate(() => {
      (globalThis as unknown as { afterRetry: boolean }).afterRetry = true;
    });
    await waitFor(
      async () => /\bok\b/.test(await row('school-flaky').innerText()),
      'the retried host to install',
      30_000,
    );
    // Every job ended: the page says so and stops offering what a finished rollout cannot do, without a reload.
    await page.getByText(/^State: completed/).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Abort', exact: true }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Abort and roll back' }).count(), 0);
    await page.getByRole('button', { name: 'Roll back updated hosts' }).waitFor();
    assert.ok(await page.evaluate(() => (globalThis as unknown as { afterRetry?: boolean }).afterRetry), 'no reload');

    // A CSRF token that is not the session's is refused, whatever else the request says.
    const forged = await page.request.post(`${botUrl}/console/rollouts/${first}/act`, {
      form: { csrf: 'not-the-token', action: 'retry', confirm: 'yes' },
      maxRedirects: 0,
    });
    assert.equal(forged.status(), 403);
    assert.match(await forged.text(), /CSRF token does not match/);
    const missing = await page.request.post(`${botUrl}/console/rollouts/${first}/act`, {
      form: { action: 'rollback', confirm: 'yes' },
      maxRedirects: 0,
    });
    assert.equal(missing.status(), 403);

    // 1.1.0 to everyone, then roll the auto host back from its row.
    // The rollouts list follows too: the new release's rollout appears without a reload.
    const list = await page.context().newPage();
    await list.goto(`${botUrl}/console/rollouts`);
    const listed = await list.locator('tbody tr').count();
    await list.evaluate(() => {
      (globalThis as unknown as { listStayed: boolean }).listStayed = true;
    });
    const fleet = await page.context().newPage();
    await fleet.goto(`${botUrl}/console/fleet`);
    await fleet.evaluate(() => {
      (globalThis as unknown as { fleetStayed: boolean }).fleetStayed = true;
    });
    const second = await publish('1.1.0');
    await list.getByText(`${PLUGIN} 1.1.0`).waitFor();
    // So does the fleet page: each host's recent jobs gain the new rollout's.
    await fleet.locator(`tbody a[href="/console/rollouts/${second}"]`).first().waitFor();
    assert.ok(
      await fleet.evaluate(() => (globalThis as unknown as { fleetStayed?: boolean }).fleetStayed),
      'no reload',
    );
    await fleet.close();
    assert.equal(await list.locator('tbody tr').count(), listed + 1);
    assert.ok(await list.evaluate(() => (globalThis as unknown as { listStayed?: boolean }).listStayed), 'no reload');
    await list.close();
    await page.goto(`${botUrl}/console/rollouts/${second}`);
    await waitFor(async () => /\bok\b/.test(await row('shop-auto').innerText()), '1.1.0 on the auto host', 30_000);
    await row('shop-auto')
      .getByRole('button', { name: /^Roll back/ })
      .click();
    await page.getByText(/Return shop-auto to the version it had before this rollout\?/).waitFor();
    assert.equal(await focused(page), 'No, go back', 'a destructive action starts on "No": Enter does not confirm it');
    await page.getByRole('button', { name: 'Yes, do it' }).click();
    await page.getByText(/rollback: 1 job\(s\) in this new rollout/).waitFor();
    assert.match(await page.locator('main').innerText(), /Kind\s+rollback, undoes/);
    assert.equal(await page.locator('h1').innerText(), `Rollback of ${PLUGIN} from 1.1.0`);
    await waitFor(async () => /\bok\b/.test(await row('shop-auto').innerText()), 'the rollback to finish', 30_000);

    // The host, the registry, the events.
    await page.goto(`${botUrl}/console/hosts/${hosts['shop-auto']}`);
    await page.getByRole('cell', { name: PLUGIN, exact: true }).first().waitFor();
    await accessible(page, 'host');

    // An admin adds an endpoint to be told of yanks; its secret is shown once and signs what it hears.
    const heard: Array<{ verified: boolean; type: string; text: string }> = [];
    let endpointSecret = '';
    const receiver = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      const { type, text } = JSON.parse(body) as { type: string; text: string };
      heard.push({ verified: verifyMessage(body, req.headers, [endpointSecret]).ok, type, text });
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/c2f/T000/secret-part`;
    await page.getByRole('link', { name: 'Notifications' }).click();
    await accessible(page, 'notifications');
    await page.getByLabel('URL').fill(receiverUrl);
    await page.getByLabel(/^Only this repository/).fill(REPO);
    for (const kind of ['halt', 'failure', 'block', 'completion'])
      await page.getByLabel(kind, { exact: true }).uncheck();
    await page.getByLabel('plain http allowed').check();
    await page.getByLabel('a loopback or private address allowed').check();
    await page.getByRole('button', { name: 'Add the endpoint' }).click();
    await page.getByText(/^Tell http:\/\/127\.0\.0\.1:\d+\/c2f\/… of yank for conn2flow\/console\?/).waitFor();
    await page.getByRole('button', { name: 'Yes, do it' }).click();
    endpointSecret = await page.locator('pre.command').innerText();
    assert.match(endpointSecret, /^whsec_/);
    await accessible(page, 'notification-added');
    const endpoints = await cli('notifications', 'list');
    assert.match(endpoints.stdout, new RegExp(`^ntf_\\S+ {2}http://127\\.0\\.0\\.1:\\d+/c2f/… {2}${REPO} {2}yank\n$`));
    const endpointId = endpoints.stdout.split(' ')[0];
    // Its deliveries page, open in a tab of its own, follows what is sent without a reload.
    const deliveriesTab = await page.context().newPage();
    await deliveriesTab.goto(`${botUrl}/console/notifications/${endpointId}`);
    await deliveriesTab.getByText('No deliveries yet.').waitFor();

    await page.goto(`${botUrl}/console/registry`);
    await page.getByRole('link', { name: PLUGIN }).click();
    await page.getByRole('cell', { name: '1.1.0', exact: true }).first().waitFor();
    assert.match(await page.locator('main').innerText(), /plugin-console-plugin-v1\.0\.0/);
    await accessible(page, 'registry-plugin');
    // Yanked from the registry (the reason asked first, "No" focused), marked, then un-yanked.
    await page.getByRole('button', { name: 'Yank 1.1.0' }).click();
    await page.getByText(/^Yank console-plugin 1\.1\.0\? Nothing of it is sent any more/).waitFor();
    assert.equal(await focused(page), 'No, go back');
    await accessible(page, 'yank');
    // The events page and the host page, open in other tabs, follow what happens next without a reload.
    const eventsTab = await page.context().newPage();
    await eventsTab.goto(`${botUrl}/console/events`);
    const hostTab = await page.context().newPage();
    await hostTab.goto(`${botUrl}/console/hosts/${hosts['shop-auto']}`);
    for (const tab of [eventsTab, hostTab])
      await tab.evaluate(() => {
        (globalThis as unknown as { stayed: boolean }).stayed = true;
      });
    await page.getByLabel(/^Why/).fill('empties the cart');
    await page.getByRole('button', { name: 'Yank 1.1.0' }).click();
    // office-manual's job of 1.1.0 still waits for approval: it is held, and the rollout paused.
    assert.match(
      await page.locator('p.notice[role=status]').innerText(),
      /^console-plugin 1\.1\.0 yanked: rollout ro_\S+ is paused; 1 unsent job\(s\) held, 0 rollback job\(s\) to it cancelled$/,
    );
    assert.match(
      await page.locator('tr.yanked td:last-child').innerText(),
      /^Yanked .* by octo-operator \(console\): empties the cart\nits rollout/,
    );
    await accessible(page, 'registry-yanked');
    // Its rollout says so, and offers nothing that would send it; un-yanked (in another tab), it updates in place.
    const rolloutTab = await page.context().newPage();
    await rolloutTab.goto(`${botUrl}/console/rollouts/${second}`);
    await rolloutTab.getByText(/^Yanked .*: empties the cart\. Nothing of it is sent until it is un-yanked/).waitFor();
    assert.equal(await rolloutTab.getByRole('button', { name: 'Approve all waiting' }).count(), 0);
    assert.equal(await rolloutTab.getByRole('button', { name: 'Retry all failed' }).count(), 0);
    const yankedJson = (await (await page.request.get(`${botUrl}/console/registry/${REPO}/${PLUGIN}.json`)).json()) as {
      versions: Array<{ version: string; yanked: { reason: string } | null }>;
    };
    assert.deepEqual(
      yankedJson.versions.map((v) => [v.version, v.yanked?.reason ?? null]),
      [
        ['1.1.0', 'empties the cart'],
        ['1.0.0', null],
      ],
    );
    await page.getByRole('button', { name: 'Un-yank 1.1.0' }).click();
    await page.getByText(/^Un-yank console-plugin 1\.1\.0\?/).waitFor();
    await page.getByRole('button', { name: 'Yes, do it' }).click();
    assert.match(
      await page.locator('p.notice[role=status]').innerText(),
      /^console-plugin 1\.1\.0 is no longer yanked; rollout ro_\S+ is paused · resume it to go on: c2f-plugin rollouts resume ro_\S+$/,
    );
    assert.equal(await page.locator('tr.yanked').count(), 0);
    await rolloutTab.getByRole('button', { name: 'Approve all waiting' }).waitFor();
    assert.equal(await rolloutTab.getByText(/^Yanked /).count(), 0);
    await rolloutTab.close();
    // The endpoint heard the yank and the un-yank, signed with its secret; its deliveries say so.
    await waitFor(() => heard.length >= 2, 'the yank and the un-yank told');
    assert.deepEqual(
      heard.map((h) => [h.type, h.verified]),
      [
        ['release.yanked', true],
        ['release.unyanked', true],
      ],
    );
    assert.match(
      heard[0].text,
      /^console-plugin 1\.1\.0 \(conn2flow\/console\) was yanked by octo-operator \(console\): empties the cart\. /,
    );
    await waitFor(
      async () =>
        (
          await deliveriesTab
            .locator('tbody')
            .innerText()
            .catch(() => '')
        ).match(/yank\s+delivered/g)?.length === 2,
      'both deliveries on the open deliveries page, live',
      30_000,
    );
    await deliveriesTab.close();
    await page.goto(`${botUrl}/console/notifications`);
    await page.locator('tbody a').first().click();
    assert.match(await page.locator('tbody').innerText(), /yank\s+delivered\s+1\s+204/);
    await accessible(page, 'notification-deliveries');
    const cliDeliveries = await cli('notifications', 'deliveries', endpointId);
    assert.match(cliDeliveries.stdout, /yank {7}delivered 1 attempt\(s\) {2}204\n/);
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await page.goto(`${botUrl}/console/registry`);
    await accessible(page, 'registry');
    const registryJson = await page.request.get(`${botUrl}/console/registry.json`);
    assert.deepEqual(
      ((await registryJson.json()) as Array<{ pluginId: string; versions: number; hosts: number }>).map((p) => [
        p.pluginId,
        p.versions,
        p.hosts,
      ]),
      [[PLUGIN, 2, 3]],
    );
    await page.goto(`${botUrl}/console/events?kind=operator_approve`);
    assert.match(await page.locator('tbody').innerText(), /operator_approve\s+octo-operator \(console\)/);
    await accessible(page, 'events');
    // Newest first, filtered by rollout and by who acted; hosts by name with their id on hover.
    await page.goto(`${botUrl}/console/events?rollout=${first}`);
    const ids = (await page.locator('tbody tr td:first-child').allInnerTexts()).map(Number);
    assert.ok(ids.length > 3, `the first rollout's events: ${ids.join(', ')}`);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
      'newest first',
    );
    const flaky = page.locator('tbody').getByRole('link', { name: 'school-flaky' }).first();
    assert.equal(await flaky.getAttribute('title'), hosts['school-flaky']);
    await page.goto(`${botUrl}/console/events?rollout=${second}`);
    assert.doesNotMatch(
      await page.locator('tbody').innerText(),
      /operator_approve/,
      "the second rollout's own events only",
    );
    await page.goto(`${botUrl}/console/events?actor=OCTO-operator`);
    const actors = await page.locator('tbody tr td:nth-child(4)').allInnerTexts();
    assert.ok(actors.length >= 2 && actors.every((a) => a === 'octo-operator (console)'), actors.join(', '));
    await page.goto(`${botUrl}/console/events?actor=nobody-at-all`);
    assert.equal(await page.locator('tbody').innerText(), 'None.');
    const csv = await (await page.request.get(`${botUrl}/console/events.csv?kind=install_fail`)).text();
    assert.match(
      csv,
      /^id,at,kind,repository,plugin,host,job,detail,host_name,actor\r\n\d+,[^,]+,install_fail,conn2flow\/console,console-plugin,/,
    );
    const jsonl = (await (await page.request.get(`${botUrl}/console/events.jsonl`)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string });
    assert.ok(jsonl.some((e) => e.kind === 'rollback_exec'));

    // The fleet again, now that its hosts have plugins and jobs (the picture in the README).
    await page.goto(`${botUrl}/console/fleet`);
    await accessible(page, 'fleet');

    // The fleet managed from the console: a token whose command enrolls a real agent, settings, removal.
    await page.getByRole('link', { name: 'Enroll a host' }).click();
    await accessible(page, 'enroll');
    await page.getByLabel('Name', { exact: true }).fill('branch-office');
    await page.getByLabel(/Plugins it follows/).fill(`${REPO}:${PLUGIN}`);
    await page.getByLabel('Policy').selectOption('manual');
    await page.getByLabel(/Labels/).fill('branch, eu');
    await page.getByRole('button', { name: 'Create the token' }).click();
    await page.getByText(/Create an enrollment token for a host named branch-office/).waitFor();
    await page.getByRole('button', { name: 'Yes, do it' }).click();
    const command = await page.locator('pre.command').innerText();
    assert.match(command, new RegExp(`^c2f-agent enroll --bot ${botUrl} --token \\S+ --gestor `));
    await accessible(page, 'enrolled');
    const branchConfig = path.join(await tempDir('c2f-branch-'), 'c2f-agent.json');
    const branchToken = /--token (\S+)/.exec(command)![1];
    const branchEnrolled = await runAgent(BUNDLE_AGENT, [
      'enroll',
      '--bot',
      botUrl,
      '--token',
      branchToken,
      '--installer-command',
      'true',
      '--config',
      branchConfig,
    ]);
    assert.equal(branchEnrolled.code, 0, branchEnrolled.stderr);
    const branch = (
      JSON.parse((await cli('hosts', 'list', '--json')).stdout) as Array<{
        id: string;
        name: string;
        enrolled: boolean;
        policy: string;
        labels: string[];
      }>
    ).find((h) => h.name === 'branch-office')!;
    assert.deepEqual([branch.enrolled, branch.policy, branch.labels], [true, 'manual', ['branch', 'eu']]);
    await page.getByRole('link', { name: 'branch-office' }).click();
    await accessible(page, 'host-settings');
    await page.getByLabel('Policy').selectOption('notify');
    await page.getByLabel(/Maintenance windows/).fill('mon-fri 99:00-06:00');
    await page.getByRole('button', { name: 'Save the settings' }).click();
    await page.getByRole('heading', { name: 'Not done' }).waitFor();
    assert.match(await page.locator('main').innerText(), /99:00/, 'a wrong window is named');
    await page.goto(`${botUrl}/console/hosts/${branch.id}`);
    await page.getByLabel('Policy').selectOption('notify');
    await page.getByLabel(/Time zone/).fill('Europe/Lisbon');
    await page.getByLabel(/Maintenance windows/).fill('mon-fri 22:00-06:00');
    await page.getByRole('button', { name: 'Save the settings' }).click();
    await page
      .getByText(
        /Change branch-office's settings to: policy notify; stable channel; labels branch, eu; windows mon-fri 22:00-06:00 \(Europe\/Lisbon\)\?/,
      )
      .waitFor();
    await page.getByRole('button', { name: 'Yes, do it' }).click();
    await page.getByText('Settings saved.').waitFor();
    const changed = JSON.parse((await cli('hosts', 'show', branch.id, '--json')).stdout) as {
      policy: string;
      timeZone: string;
      windows: unknown[];
    };
    assert.deepEqual([changed.policy, changed.timeZone, changed.windows.length], ['notify', 'Europe/Lisbon', 1]);
    await page.getByRole('button', { name: 'Remove branch-office' }).click();
    assert.equal(await focused(page), 'No, go back');
    await accessible(page, 'confirm-remove');
    await page.getByRole('button', { name: 'Yes, do it' }).click();
    await page.getByText('Removed branch-office.').waitFor();
    const gone = await cli('hosts', 'show', branch.id);
    assert.deepEqual([gone.code, gone.stderr.trim()], [1, `c2f-plugin hosts: no host ${branch.id}`]);
    const fleetEvents = (await (await page.request.get(`${botUrl}/console/events.jsonl`)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; hostId: string; detail: { by: string } })
      .filter((e) => e.hostId === branch.id && e.kind.startsWith('host_'));
    assert.deepEqual(
      fleetEvents.map((e) => [e.kind, e.detail.by]),
      [
        ['host_enrollment_created', 'octo-operator (console)'],
        ['host_changed', 'octo-operator (console)'],
        ['host_removed', 'octo-operator (console)'],
      ],
    );

    // A wave that waits for approval: 1.2.0 sends nothing until an operator approves its wave, in the console.
    github.files.set(
      `${REPO}/.github/conn2flow-release.yml`,
      'rollout:\n  waves:\n    - { name: everyone, labels: [console], approval: required }\n',
    );
    // school-flaky's window opens twelve hours from now: once approved, its job waits for it, counting down.
    const opens = (new Date().getUTCHours() + 12) % 24;
    const hh = (h: number) => String(h).padStart(2, '0');
    const windowed = await cli(
      'hosts',
      'update',
      hosts['school-flaky'],
      '--time-zone',
      'UTC',
      '--window',
      `daily ${hh(opens)}:00-${hh(opens + 1)}:00`,
    );
    assert.equal(windowed.code, 0, windowed.stderr);
    const third = await publish('1.2.0');
    await page.goto(`${botUrl}/console/rollouts/${third}`);
    const approveWave = page.getByRole('button', { name: 'Approve wave 1 (everyone)' });
    await approveWave.waitFor();
    assert.match(await page.locator('main').innerText(), /awaiting approval/);
    const gated = await cli('rollouts', 'show', third);
    assert.match(
      gated.stdout,
      /\n {2}wave 1 everyone \(labels console, approval required\): awaiting approval; 0 ok, 0 failed, 3 held of 3;/,
    );
    await accessible(page, 'rollout-awaiting-approval');
    // Scheduled for tomorrow in the console; the CLI refuses a time without its zone, then lifts the schedule.
    const tomorrow = `${new Date(Date.now() + 86_400_000).toISOString().slice(0, 16).replace('T', ' ')}Z`;
    await page.getByLabel('Start at').fill(tomorrow);
    await page.getByRole('button', { name: 'Schedule the start' }).click();
    await page.getByText(/^Schedule this rollout to start at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\?/).waitFor();
    await page.getByRole('button', { name: 'Yes, do it' }).click();
    await page.getByText(/^schedule: the rollout is running, wave 1; 0 job\(s\) held until \S+/).waitFor();
    await page.getByText(/^Scheduled: nothing goes out before /).waitFor();
    await accessible(page, 'rollout-scheduled');
    const zoneless = await cli('rollouts', 'schedule', third, '--at', '2030-01-01 02:00');
    assert.equal(zoneless.code, 1);
    assert.match(zoneless.stderr, /"2030-01-01 02:00" is not a time with its zone/);
    const lifted = await cli('rollouts', 'schedule', third, '--clear');
    assert.equal(lifted.code, 0, lifted.stderr);
    assert.match(
      lifted.stdout,
      /: running, wave 1; the schedule is lifted: what it held goes out as its other holds allow\n$/,
    );
    await page.getByRole('button', { name: 'Lift the schedule' }).waitFor({ state: 'detached' });
    assert.equal(await page.getByText(/^Scheduled: /).count(), 0, 'the page follows the lifted schedule');
    await approveWave.click();
    await page.getByText(/^Let the wave this rollout reached start\?/).waitFor();
    await page.getByRole('button', { name: 'Yes, do it' }).click();
    await page.getByText(/^approve-wave: the rollout is running, wave 1; 3 job\(s\) of the wave go out/).waitFor();
    await waitFor(
      async () => /\bok\b/.test(await row('shop-auto').innerText()),
      '1.2.0 on the auto host once its wave was approved',
      30_000,
    );
    await waitFor(
      async () => /release_yanked/.test(await eventsTab.locator('tbody').innerText()),
      'the yank on the events page, live',
      30_000,
    );
    await waitFor(
      async () => /console-plugin\s+1\.2\.0/.test(await hostTab.locator('main').innerText()),
      "1.2.0 on the auto host's page, live",
      30_000,
    );
    for (const tab of [eventsTab, hostTab]) {
      assert.equal(
        await tab.evaluate(() => (globalThis as unknown as { stayed?: boolean }).stayed),
        true,
        'updated without a reload',
      );
      await tab.close();
    }
    await waitFor(
      async () => /held: window, until .+ \(in (11|12) h\)/.test(await row('school-flaky').innerText()),
      "the flaky host's job counting down to its window",
      30_000,
    );
    const approvedTwice = await cli('rollouts', 'approve-wave', third);
    assert.equal(approvedTwice.code, 1);
    assert.match(approvedTwice.stderr, /no wave of rollout \S+ waits for approval|is completed/);

    // A second operator in Japan: every time in her zone (UTC on hover), how long ago beside it.
    const tokyo = await signIn('octo-operator', { timezoneId: 'Asia/Tokyo' });
    await tokyo.goto(`${botUrl}/console/rollouts/${second}`);
    const started = tokyo.locator('dd time').first();
    const iso = (await started.getAttribute('datetime'))!;
    const shifted = new Date(Date.parse(iso) + 540 * 60_000).toISOString();
    // The console's script runs before the page's load event, which goto waits for.
    assert.equal(await started.innerText(), `${shifted.replace('T', ' ').slice(0, 19)} Asia/Tokyo`);
    assert.equal(await started.getAttribute('title'), `${iso.replace('T', ' ').slice(0, 19)} UTC`);
    assert.match(await tokyo.locator('dd .ago').first().innerText(), /^\(\d+ (s|min) ago\)$/);
    await accessible(tokyo, 'rollout-local-time');

    // Signing out ends the session.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.goto(`${botUrl}/console/fleet`);
    assert.match(page.url(), /\/console\/sign-in$/);
    await accessible(page, 'sign-in');

    // The bot goes away: a live page says it may be out of date instead of going silently stale.
    assert.equal(await tokyo.getByRole('alert').count(), 0);
    await bot.stop();
    await tokyo.getByRole('alert').filter({ hasText: 'Lost the connection to the bot' }).waitFor();
    assert.deepEqual(github.violations, []);
    assert.deepEqual(github.oauth.refused, []);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- bot\n${bot?.output().slice(-4000)}`, { cause: error });
  } finally {
    await browser?.close();
    await Promise.all(agents.map((a) => a.stop()));
    await bot?.stop();
    await github.stop();
  }
});

/** The text of the element that has the keyboard focus. */
function focused(page: Page): Promise<string | undefined> {
  return page.evaluate(() =>
    (
      globalThis as unknown as { document: { activeElement: { textContent: string } | null } }
    ).document.activeElement?.textContent?.trim(),
  );
}
