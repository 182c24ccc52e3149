// Who may do what in the console: a viewer reads; an operator also acts on rollouts (approve, retry, force,
// cancel, roll back, uninstall, pause, resume, next wave, approve a wave, schedule, abort); an admin also
// manages hosts and enrollment tokens, yanks releases, manages notifications and signs everyone out. Decided
// on the server at every request, from the lists as they are now.

export type Role = 'viewer' | 'operator' | 'admin';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export interface Roles {
  /** Listed logins (lower case) and their role. */
  listed: ReadonlyMap<string, Role>;
  /** The role of the organisation's members who are on no list. */
  org: Role;
}

export function rolesFrom(lists: { viewers: string[]; operators: string[]; admins: string[]; org: Role }): Roles {
  const listed = new Map<string, Role>();
  // A login on several lists has the highest of their roles.
  for (const [role, logins] of [
    ['viewer', lists.viewers],
    ['operator', lists.operators],
    ['admin', lists.admins],
  ] as const)
    for (const login of logins) listed.set(login.toLowerCase(), role);
  return { listed, org: lists.org };
}

export function isListed(roles: Roles, login: string): boolean {
  return roles.listed.has(login.toLowerCase());
}

/**
 * The role of a signed-in login: its list's, else (when it came in as a member) the one its teams gave at
 * sign-in, else the organisation's.
 */
export function roleOf(roles: Roles, login: string, viaOrg: boolean, teamRole: string | null = null): Role | undefined {
  const fromTeams = teamRole && teamRole in RANK ? (teamRole as Role) : undefined;
  return roles.listed.get(login.toLowerCase()) ?? (viaOrg ? (fromTeams ?? roles.org) : undefined);
}

export function mayDo(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}
