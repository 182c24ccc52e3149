import { pluginIdProblem } from '../../plugin/plugin-id.ts';
import { validateHostUrl } from '../host-url.ts';
import type { HostChanges, NewHost, Subscription } from '../store/hosts.ts';
import { checkTimeZone, checkWindow, parseWindow, type MaintenanceWindow } from './maintenance-windows.ts';
import { checkLabel } from './strategy.ts';

// A host's settings as an operator gives them (the admin API's JSON, the console's forms): checked once, each
// mistake named. Windows and labels that are wrong throw their own errors (WindowError, StrategyError).

export class HostInputError extends Error {}

export function hostInput(body: Record<string, unknown>, withUrl: boolean): NewHost {
  const name = body.name;
  if (typeof name !== 'string' || !name.trim()) throw new HostInputError('"name" is required');
  // Stored as given (printed escaped), except what no text column can hold.
  if (name.includes('\u0000')) throw new HostInputError('"name" must not contain a NUL character');
  if (name.length > 200) throw new HostInputError('"name" is at most 200 characters');
  const policy = body.policy ?? 'auto';
  if (policy !== 'auto' && policy !== 'notify' && policy !== 'manual')
    throw new HostInputError('"policy" must be auto, notify or manual');
  const channel = body.channel ?? 'stable';
  if (channel !== 'stable' && channel !== 'prerelease')
    throw new HostInputError('"channel" must be stable or prerelease');
  const plugins = parsePlugins(body.plugins);
  const allowPrivateNetwork = body.allowPrivateNetwork === true;
  let url: string | null = null;
  if (withUrl) {
    if (typeof body.url !== 'string')
      throw new HostInputError('"url" is required (or create an enrollment and let the agent enroll itself)');
    url = validateHostUrl(body.url, { allowHttp: body.allowHttp === true, allowPrivateNetwork });
  }
  return { name: name.trim(), url, policy, channel, plugins, allowPrivateNetwork, ...scheduleInput(body) };
}

/** Labels, time zone and maintenance windows, as given to hosts add, enrollments and hosts update. */
export function scheduleInput(body: Record<string, unknown>): Pick<HostChanges, 'labels' | 'timeZone' | 'windows'> {
  const changes: Pick<HostChanges, 'labels' | 'timeZone' | 'windows'> = {};
  if (body.labels !== undefined) {
    if (!Array.isArray(body.labels) || body.labels.length > 50)
      throw new HostInputError('"labels" must be a list of at most 50 labels');
    changes.labels = body.labels.map(checkLabel);
  }
  if (body.timeZone !== undefined)
    changes.timeZone = body.timeZone === null ? null : checkTimeZone(String(body.timeZone));
  if (body.windows !== undefined) changes.windows = body.windows === null ? null : windowsInput(body.windows);
  return changes;
}

export function windowsInput(value: unknown): MaintenanceWindow[] {
  if (!Array.isArray(value) || value.length > 50)
    throw new HostInputError('"windows" must be a list of at most 50 windows like "mon-fri 22:00-06:00"');
  return value.map((w) => (typeof w === 'string' ? parseWindow(w) : checkWindow(w as MaintenanceWindow)));
}

export const REPOSITORY = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;

/** `owner/repo:plugin-id` strings or {repository, pluginId} objects. */
function parsePlugins(value: unknown): Subscription[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new HostInputError('"plugins" must be a list like ["owner/repo:plugin-id"]');
  return value.map((entry) => {
    if (typeof entry === 'string') {
      const match = /^([^:]+):(.+)$/.exec(entry);
      if (!match || !REPOSITORY.test(match[1]))
        throw new HostInputError(`${JSON.stringify(entry.slice(0, 100))} is not owner/repo:plugin-id`);
      return { repository: match[1], pluginId: checkedPluginId(match[2]) };
    }
    if (
      entry &&
      typeof entry === 'object' &&
      typeof entry.repository === 'string' &&
      REPOSITORY.test(entry.repository) &&
      typeof entry.pluginId === 'string'
    ) {
      return { repository: entry.repository, pluginId: checkedPluginId(entry.pluginId) };
    }
    throw new HostInputError('each plugin is "owner/repo:plugin-id" or {"repository", "pluginId"}');
  });
}

export function checkedPluginId(value: string): string {
  const problem = pluginIdProblem(value);
  if (problem) throw new HostInputError(`plugin ${problem}`);
  return value;
}

/** What `hosts update` changes: policy, channel, enabled, labels, time zone and windows; absent ones stay. */
export function hostChangesInput(body: Record<string, unknown>): HostChanges {
  const changes: HostChanges = scheduleInput(body);
  if (body.policy !== undefined) {
    if (body.policy !== 'auto' && body.policy !== 'notify' && body.policy !== 'manual')
      throw new HostInputError('"policy" must be auto, notify or manual');
    changes.policy = body.policy;
  }
  if (body.channel !== undefined) {
    if (body.channel !== 'stable' && body.channel !== 'prerelease')
      throw new HostInputError('"channel" must be stable or prerelease');
    changes.channel = body.channel;
  }
  if (body.enabled !== undefined) {
    if (typeof body.enabled !== 'boolean') throw new HostInputError('"enabled" is true or false');
    changes.enabled = body.enabled;
  }
  return changes;
}
