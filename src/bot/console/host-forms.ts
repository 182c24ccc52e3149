// The console's host forms as the bodies the admin API takes, so both are checked by the same rules
// (src/bot/rollout/host-input.ts). An empty field of the settings form clears that setting.

const lines = (text: string | null) =>
  (text ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

function scheduleBody(form: URLSearchParams, clearEmpty: boolean): Record<string, unknown> {
  const labels = (form.get('labels') ?? '').split(/[\s,]+/).filter(Boolean);
  const timeZone = (form.get('timeZone') ?? '').trim();
  const windows = lines(form.get('windows'));
  const empty = clearEmpty ? null : undefined;
  return { labels, timeZone: timeZone || empty, windows: windows.length ? windows : empty };
}

export function newHostBody(form: URLSearchParams): Record<string, unknown> {
  return {
    name: form.get('name') ?? '',
    plugins: lines(form.get('plugins')),
    policy: form.get('policy') ?? undefined,
    channel: form.get('channel') ?? undefined,
    ...scheduleBody(form, false),
  };
}

export function hostChangesBody(form: URLSearchParams): Record<string, unknown> {
  return {
    policy: form.get('policy') ?? undefined,
    channel: form.get('channel') ?? undefined,
    enabled: form.get('enabled') === 'true',
    ...scheduleBody(form, true),
  };
}

/** The settings a form asks for, in words, for its confirmation page. */
export function describeSettings(body: Record<string, unknown>): string {
  const list = (value: unknown) => (Array.isArray(value) && value.length ? value.join(', ') : 'none');
  return [
    `policy ${body.policy}`,
    `${body.channel} channel`,
    ...(body.enabled === false ? ['takes no jobs'] : []),
    `labels ${list(body.labels)}`,
    `windows ${list(body.windows)}${body.timeZone ? ` (${body.timeZone})` : ''}`,
  ].join('; ');
}
