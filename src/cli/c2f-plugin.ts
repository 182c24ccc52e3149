#!/usr/bin/env node
import { main } from './main.ts';

// A reader that stops early (`c2f-plugin verify x.zip | head -1`) closes the pipe: what is left to print has
// nowhere to go, which is not an error of the command's.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await main(process.argv.slice(2));
