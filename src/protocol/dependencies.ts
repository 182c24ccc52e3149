import { compareVersions } from '../versions.ts';
import type { Dependency } from './messages.ts';

// A plugin's dependencies (manifest `dependencies [{id, min, max}]`): each must be installed on the site at
// a version within [min, max], both bounds inclusive and either one open. The bot checks them against a
// host's inventory before planning its job, the agent against the site's files before installing.

/** Why `installed` (the version the site has, or null) does not satisfy `dependency`; undefined when it does. */
export function dependencyProblem(dependency: Dependency, installed: string | null | undefined): string | undefined {
  const range = describeRange(dependency);
  if (!installed) return `${dependency.id} is not installed (needed: ${range})`;
  if (dependency.min && (compareVersions(installed, dependency.min) ?? -1) < 0)
    return `${dependency.id} ${installed} is installed, older than needed (${range})`;
  if (dependency.max && (compareVersions(installed, dependency.max) ?? 1) > 0)
    return `${dependency.id} ${installed} is installed, newer than allowed (${range})`;
  return undefined;
}

/** Whether a version is within the dependency's range. */
export function satisfies(dependency: Dependency, version: string): boolean {
  return dependencyProblem(dependency, version) === undefined;
}

export function describeRange(dependency: Dependency): string {
  if (dependency.min && dependency.max)
    return dependency.min === dependency.max ? `exactly ${dependency.min}` : `${dependency.min} to ${dependency.max}`;
  if (dependency.min) return `${dependency.min} or later`;
  if (dependency.max) return `${dependency.max} or earlier`;
  return 'any version';
}

/**
 * A cycle among plugins that depend on each other (`a → b → a`), or undefined. `edges` maps a plugin to the
 * plugins it needs.
 */
export function findCycle(edges: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'visiting') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'visiting');
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of [...edges.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}
