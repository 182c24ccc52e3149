// The one rule for a plugin id, Conn2Flow's own (plugins-installer.php `plugin_validate_manifest`):
// lowercase letters, digits, "-" and "_", starting with a letter or digit. The manifest, release tags,
// subscriptions, the admin API and jobs all use it; the plugins table's id column holds 255 characters.

export const PLUGIN_ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
export const MAX_PLUGIN_ID_LENGTH = 255;

export function isPluginId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_PLUGIN_ID_LENGTH && PLUGIN_ID_PATTERN.test(value);
}

/** Why a value is not a plugin id, for a message that says how to fix it. */
export function pluginIdProblem(value: string): string | undefined {
  if (value.length <= MAX_PLUGIN_ID_LENGTH && PLUGIN_ID_PATTERN.test(value)) return undefined;
  const shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value.length > MAX_PLUGIN_ID_LENGTH) return `${shown} is longer than ${MAX_PLUGIN_ID_LENGTH} characters`;
  return `${shown} is not a plugin id (lowercase letters, digits, "-" and "_", starting with a letter or digit)`;
}
