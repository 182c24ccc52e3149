import { WEBHOOK_PATH } from '../server.ts';

// The GitHub App the release bot runs as, asked for the least it needs: release assets (contents: read),
// check runs (checks: write), and the release and check_run events. GitHub always sends the installation
// events. Built from the bot's public URL, never public, whatever folder the bot started in.

export const APP_PERMISSIONS = { contents: 'read', metadata: 'read', checks: 'write' } as const;
export const APP_EVENTS = ['release', 'check_run'] as const;
export const DEFAULT_APP_NAME = 'Conn2Flow plugin release bot';

export function appManifest(botUrl: string, name = DEFAULT_APP_NAME): Record<string, unknown> {
  return {
    name,
    description: 'Rolls Conn2Flow plugin releases out to the hosts that follow them.',
    url: botUrl,
    hook_attributes: { url: `${botUrl}${WEBHOOK_PATH}`, active: true },
    redirect_url: `${botUrl}/setup/done`,
    // Where GitHub sends an operator back after signing in to the console with the App's OAuth client.
    callback_urls: [`${botUrl}/console/oauth/callback`],
    public: false,
    default_permissions: APP_PERMISSIONS,
    default_events: APP_EVENTS,
  };
}
