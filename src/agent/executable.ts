// `c2f-agent`: the host agent as one executable that needs no Node.js on the host (Node's single executable
// applications: this file, bundled with everything it uses, inside a copy of the Node.js 24 binary).
// `c2f-agent <args>` is `c2f-plugin agent <args>`.
import { agentCli } from '../cli/commands/agent.ts';
import { runCommand } from '../cli/run-command.ts';
import { VERSION } from '../version.ts';

const args = process.argv.slice(2);
if (args[0] === '--version' || args[0] === '-V') {
  process.stdout.write(`${VERSION}\n`);
} else {
  runCommand('c2f-agent', agentCli('c2f-agent'), args).then((code) => {
    process.exitCode = code;
  });
}
