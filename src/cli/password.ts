import { createInterface } from 'node:readline';
import { UsageError } from './usage-error.ts';

// The password that seals a publisher's secret key: C2F_SIGNING_PASSWORD (CI), else asked on the terminal
// without echo; without either, one line saying how to give it.

export const PASSWORD_VARIABLE = 'C2F_SIGNING_PASSWORD';

export async function password(prompt: string, options: { confirm?: boolean } = {}): Promise<string> {
  const given = process.env[PASSWORD_VARIABLE];
  if (given) return given;
  if (!process.stdin.isTTY || !process.stderr.isTTY)
    throw new UsageError(
      `the key needs a password: set ${PASSWORD_VARIABLE}, or run this on a terminal (or --no-password to keep the key in the clear)`,
    );
  const first = await ask(prompt);
  if (options.confirm && (await ask('Again: ')) !== first) throw new UsageError('the two passwords differ');
  if (!first) throw new UsageError('an empty password: use --no-password to keep the key in the clear');
  return first;
}

function ask(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const output = rl as unknown as { _writeToOutput: (text: string) => void };
    const write = output._writeToOutput.bind(rl);
    let asked = false;
    output._writeToOutput = (text) => {
      if (!asked) {
        asked = true;
        write(text);
      }
    };
    rl.question(prompt, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}
