#!/usr/bin/env node
// The `orders` command (package.json "bin", `npm run orders`). A development checkout runs its
// TypeScript sources through tsx (a devDependency), so the command always matches the code being
// edited, never a stale dist/. Anywhere without the sources or without tsx (the Docker image, which
// installs production dependencies only) it runs the JavaScript `npm run build` compiled into dist/.
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const source = path.join(root, 'src', 'scripts', 'orders.ts');
const compiled = path.join(root, 'dist', 'src', 'scripts', 'orders.js');

function tsxLoader() {
  try {
    return require.resolve('tsx/cjs/api');
  } catch {
    return undefined;
  }
}

const loader = existsSync(source) ? tsxLoader() : undefined;
if (loader !== undefined) {
  require(loader).register();
  require(source);
} else if (existsSync(compiled)) {
  require(compiled);
} else {
  process.stderr.write(`orders: ${compiled} is missing; run \`npm run build\` first\n`);
  process.exit(1);
}
