import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { verifyMessage } from '../../src/protocol/signing.ts';
import { waitFor } from '../helpers.ts';
import { ENGINES } from './databases.ts';
import { stagedBotFor, stagedFile } from './staged-suite.ts';

// Outgoing notifications, on PGlite and on PostgreSQL: an endpoint for one repository hears its halts,
// failures, completions and yanks (and nothing of another repository), each signed the Standard Webhooks way
// with the secret it was given once, with a text a chat reads; a 503 is tried again under the same webhook-id;
// an endpoint that answers 404 fails at once; every attempt is visible, and a removed endpoint is told nothing.

interface Heard {
  id: string;
  verified: boolean;
  body: { type: string; data: Record<string, unknown> & { kind: string; url: string }; text: string };
}

class Receiver {
  readonly heard: Heard[] = [];
  /** Answers for the next requests, in order (then 200). */
  readonly answers: number[] = [];
  secret = '';
  url = '';
  private server: Server | undefined;

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const verified = verifyMessage(text, req.headers, [this.secret]).ok;
      this.heard.push({ id: String(req.headers['webhook-id']), verified, body: JSON.parse(text) });
      res.writeHead(this.answers.shift() ?? 200).end();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/hook`;
    return this;
  }

  of(type: string): Heard[] {
    return this.heard.filter((h) => h.body.type === type);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const suite = stagedFile();
const { github, fleet } = suite;

for (const engine of ENGINES)
  describe(engine, () => {
    const current = stagedBotFor(engine, suite, { C2F_NOTIFY_RETRY_SCHEDULE: '0.2,0.2' });
    const receiver = new Receiver();
    const elsewhere = new Receiver();
    before(async () => {
      await receiver.start();
      await elsewhere.start();
    });
    after(async () => {
      await receiver.stop();
      await elsewhere.stop();
    });

    test(`${engine}: an endpoint hears its repository's halts, failures, completions and yanks, signed and retried`, {
      timeout: 120_000,
    }, async () => {
      const bot = current();
      const repo = `conn2flow/told-${engine}`;
      const endpoint = (url: string, repository: string) =>
        bot.admin('POST', 'notifications', { url, repository, allowHttp: true, allowPrivateNetwork: true });
      const added = await endpoint(receiver.url, repo);
      assert.equal(added.status, 201, JSON.stringify(added.body));
      assert.match(added.body.secret, /^whsec_/);
      assert.deepEqual(added.body.target.kinds, ['halt', 'failure', 'block', 'completion', 'yank']);
      receiver.secret = added.body.secret;
      const other = await endpoint(elsewhere.url, 'conn2flow/somewhere-else');
      elsewhere.secret = other.body.secret;
      const refused = await bot.admin('POST', 'notifications', { url: receiver.url, allowHttp: true });
      assert.equal(refused.status, 400);
      assert.match(
        refused.body.error,
        /127\.0\.0\.1 is a loopback or private address; allow it with allowPrivateNetwork/,
      );
      assert.equal(
        (await bot.admin('POST', 'notifications', { url: 'https://x.example/', kinds: ['lunch'] })).status,
        400,
      );

      github.files.set(
        `${repo}/.github/conn2flow-release.yml`,
        'rollout:\n  waves:\n    - { name: canary, labels: [canary], errorThreshold: 1 }\n',
      );
      const plugin = `${repo}:told-plugin`;
      await bot.addHost(fleet, 'canary-bad', [plugin], { labels: ['canary'], outcome: 'fail' });
      const rest = await bot.addHost(fleet, 'rest', [plugin]);
      receiver.answers.push(503); // the first notification is answered 503, then tried again
      const first = await bot.rolloutOf(await bot.publish(repo, 'told-plugin', '1.0.0'));
      await waitFor(() => receiver.of('rollout.halted').length > 0, 'the halt told');
      await waitFor(() => receiver.of('job.failed').length > 0, 'the failure told');
      assert.ok(
        receiver.heard.every((h) => h.verified),
        'every notification verifies with the secret given',
      );
      const [failure] = receiver.of('job.failed');
      assert.deepEqual(
        [failure.body.data.kind, failure.body.data.event, failure.body.data.hostName, failure.body.data.rolloutId],
        ['failure', 'install_fail', 'canary-bad', first],
      );
      assert.match(
        failure.body.text,
        new RegExp(
          `^told-plugin 1\\.0\\.0 \\(${repo}\\) failed on canary-bad \\(install fail\\): .+ http://bot\\.example\\.com/console/rollouts/${first}$`,
        ),
      );
      const [halt] = receiver.of('rollout.halted');
      assert.match(
        halt.body.text,
        /^Rollout of told-plugin 1\.0\.0 \(.+\) halted: wave 1 \(canary\): 1 of 1 jobs failed/,
      );
      await waitFor(
        () => receiver.heard.filter((h) => h.id === receiver.heard[0].id).length === 2,
        'the notification answered 503 tried again under the same webhook-id',
      );

      // Resumed, the rest installs and the rollout completes; then 1.0.0 is yanked.
      assert.equal((await bot.admin('POST', `rollouts/${first}/resume`, {})).status, 200);
      await waitFor(() => receiver.of('rollout.completed').length > 0, 'the completion told');
      assert.equal(fleet.sites.get(rest)!.get('told-plugin'), '1.0.0');
      await bot.admin('POST', `registry/${repo}/told-plugin/1.0.0/yank`, { reason: 'wrong colours' });
      // A host the bot cannot reach: once its pushes run out, the failure is told too.
      const unreachable = await bot.admin('POST', 'hosts', {
        name: 'unreachable',
        url: 'http://127.0.0.1:1/hook',
        plugins: [`${repo}:other-plugin`],
        allowPrivateNetwork: true,
        allowHttp: true,
      });
      assert.equal(unreachable.status, 201, JSON.stringify(unreachable.body));
      await bot.publish(repo, 'other-plugin', '2.0.0');
      const [dead] = await waitFor(
        () => {
          const told = receiver.of('job.failed').filter((h) => h.body.data.event === 'job_dead_lettered');
          return told.length ? told : undefined;
        },
        'the dead-lettered job told',
        60_000,
      );
      assert.match(
        dead.body.text,
        /^other-plugin 2\.0\.0 \(.+\) failed on unreachable \(job dead lettered\): gave up after 3 attempts: /,
      );
      const [yank] = await waitFor(
        () => (receiver.of('release.yanked').length ? receiver.of('release.yanked') : undefined),
        'the yank told',
      );
      assert.match(yank.body.text, /^told-plugin 1\.0\.0 \(.+\) was yanked by tester: wrong colours\. /);
      assert.deepEqual(elsewhere.heard, [], "another repository's endpoint heard nothing");

      // The 2.0.0 rollout halts on its dead letter (below its success threshold): that is told as well.
      const shown = await waitFor(async () => {
        const answer = await bot.admin('GET', `notifications/${added.body.target.id}/deliveries`);
        const list = answer.body.deliveries as Array<{ kind: string; state: string }>;
        const settled = list.every((d) => d.state !== 'pending');
        return settled && list.filter((d) => d.kind === 'halt').length === 2 ? answer : undefined;
      }, 'every notification settled, the second halt included');
      const deliveries = shown.body.deliveries as Array<{
        kind: string;
        state: string;
        attempts: number;
        lastStatus: number;
      }>;
      assert.ok(
        deliveries.every((d) => d.state === 'delivered' && d.lastStatus === 200),
        JSON.stringify(deliveries),
      );
      assert.ok(
        deliveries.some((d) => d.attempts === 2),
        'the retried one counts two attempts',
      );
      assert.equal(shown.body.target.url, `${new URL(receiver.url).origin}/hook/…`, 'lists never show the whole URL');

      // An endpoint that answers 404 fails at once; a removed one is told nothing more.
      elsewhere.answers.push(404);
      const moved = await bot.admin('POST', 'notifications', {
        url: elsewhere.url,
        kinds: ['yank'],
        allowHttp: true,
        allowPrivateNetwork: true,
      });
      elsewhere.secret = moved.body.secret;
      await bot.admin('POST', `registry/${repo}/told-plugin/1.0.0/unyank`, {});
      const failed = await waitFor(async () => {
        const list = (await bot.admin('GET', `notifications/${moved.body.target.id}/deliveries`)).body.deliveries;
        return list[0]?.state === 'failed' ? list[0] : undefined;
      }, 'the 404 delivery to fail');
      assert.deepEqual([failed.attempts, failed.lastStatus], [1, 404]);
      assert.match(failed.lastError, /answered 404/);
      assert.equal((await bot.admin('DELETE', `notifications/${added.body.target.id}`)).status, 200);
      assert.equal((await bot.admin('GET', `notifications/${added.body.target.id}/deliveries`)).status, 404);
      const heardBefore = receiver.heard.length;
      await bot.admin('POST', `registry/${repo}/told-plugin/1.0.0/yank`, { reason: 'again' });
      await waitFor(async () => {
        const list = (await bot.admin('GET', `notifications/${moved.body.target.id}/deliveries`)).body.deliveries;
        return list.length === 2 && list[0].state === 'delivered';
      }, 'the yank told to the endpoint that is left');
      assert.equal(receiver.heard.length, heardBefore, 'the removed endpoint heard nothing');
    });
  });
