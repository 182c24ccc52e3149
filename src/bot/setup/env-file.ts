// The .env file the registration writes: the App's variables set, every other line the operator wrote kept
// (a multi-line quoted value of a replaced variable goes with it).

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

export function mergeEnvFile(existing: string, values: Record<string, string>, drop: readonly string[] = []): string {
  const replaced = new Set([...Object.keys(values), ...drop]);
  const kept: string[] = [];
  const lines = existing.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const match = ASSIGNMENT.exec(lines[i]);
    if (!match || !replaced.has(match[1])) {
      kept.push(lines[i]);
      continue;
    }
    const quote = /^["'`]/.exec(match[2])?.[0];
    if (quote && !match[2].slice(1).includes(quote)) while (i + 1 < lines.length && !lines[++i].includes(quote));
  }
  while (kept.length && kept[kept.length - 1].trim() === '') kept.pop();
  const added = Object.entries(values).map(([key, value]) => `${key}=${quoted(value)}`);
  return `${[...kept, ...added].join('\n')}\n`;
}

function quoted(value: string): string {
  if (/^[\w./:@+-]*$/.test(value)) return value;
  if (!value.includes("'") && !value.includes('\n')) return `'${value}'`;
  throw new Error(`cannot write ${JSON.stringify(value)} to .env`);
}
