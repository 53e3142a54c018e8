#!/usr/bin/env node
// The `orders` command (package.json "bin"): runs the TypeScript entry point with tsx's loader.
require('tsx/cjs/api').register();
require('../src/scripts/orders.ts');
