// `c2f-agent`: the host agent's command, `c2f-plugin agent` under its own name. It is the entry of the npm
// package's `c2f-agent` bin and of the single executable that needs no Node.js on the host (Node's single
// executable applications: this file, bundled with everything it uses, inside a copy of Node.js 24).
import { VERSION } from '../version.ts';
import { agentCli } from './commands/agent.ts';
import { runCommand } from './run-command.ts';

const args = process.argv.slice(2);
if (args[0] === '--version' || args[0] === '-V') {
  process.stdout.write(`${VERSION}\n`);
} else {
  runCommand('c2f-agent', agentCli('c2f-agent'), args).then((code) => {
    process.exitCode = code;
  });
}
