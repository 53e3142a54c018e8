import { cpSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/**
 * `npm run build`: `src/` compiled file by file into `dist/src/` (CommonJS for Node 24, with source
 * maps) and the migrations copied to `dist/sql`, where the compiled code looks for them. This is
 * what `npm start`, the bench and the Docker image run. esbuild only removes the types, in well
 * under a second, so `npm start` can build on every start; `npm run typecheck` checks them.
 */

const ROOT = path.resolve(__dirname, '../..');
const DIST = path.join(ROOT, 'dist');

function typescriptSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return typescriptSources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

async function main(): Promise<void> {
  // From scratch, so a deleted source leaves nothing behind; dist/ may hold other things (a workflow bundle).
  for (const folder of ['src', 'sql']) rmSync(path.join(DIST, folder), { recursive: true, force: true });
  await build({
    entryPoints: typescriptSources(path.join(ROOT, 'src')),
    outdir: DIST,
    outbase: ROOT,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    sourcemap: true,
    logLevel: 'warning',
  });
  cpSync(path.join(ROOT, 'sql'), path.join(DIST, 'sql'), { recursive: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`build failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
