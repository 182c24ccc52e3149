import assert from 'node:assert/strict';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { GitHubStandIn } from '../../dev/github/stand-in.ts';

// What GitHub does when an author publishes a plugin release: the release with gestor-plugin.zip and its
// .sha256 attached, then the signed `release.published` webhook to the bot.

/** Sends one webhook signed with the App's webhook secret; the bot must answer 200. */
export async function sendWebhook(botUrl: string, secret: string, event: string, payload: unknown): Promise<void> {
  const body = JSON.stringify(payload);
  const answer = await fetch(`${botUrl}/api/github/webhooks`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
  });
  assert.equal(answer.status, 200, `the ${event} webhook: ${await answer.text()}`);
}

export interface PublishedRelease {
  id: number;
  tagName: string;
}

/** Publishes `plugin-<plugin>-v<version>` of a private repository with its package, and tells the bot. */
export async function publishRelease(
  github: GitHubStandIn,
  bot: { url: string; webhookSecret: string },
  release: { repository: string; plugin: string; version: string; zip: Buffer },
): Promise<PublishedRelease> {
  const { repository, plugin, version, zip } = release;
  const added = github.addRelease(repository, { tagName: `plugin-${plugin}-v${version}` }, [
    { name: 'gestor-plugin.zip', content: zip, contentType: 'application/zip' },
    { name: 'gestor-plugin.zip.sha256', content: Buffer.from(`${createHash('sha256').update(zip).digest('hex')}\n`) },
  ]);
  const [owner, name] = repository.split('/');
  await sendWebhook(bot.url, bot.webhookSecret, 'release', {
    action: 'published',
    release: { id: added.id, tag_name: added.tagName, prerelease: false, draft: false, name: added.tagName, target_commitish: 'main', assets: [] },
    repository: { id: 9, full_name: repository, name, private: true, owner: { login: owner } },
    installation: { id: 3, node_id: 'x' },
    sender: { login: 'author', id: 1 },
  });
  return { id: added.id, tagName: added.tagName };
}
