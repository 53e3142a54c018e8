import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT, runCommand } from './support/run-command';

// The Docker image's runtime stage holds dist/ (what `npm run build` compiles), bin/ and the
// production dependencies only: no src/, no tsx. The `orders` command must run there as it is.

const DOCKERFILE = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
const RUNTIME_STAGE = DOCKERFILE.split(/^FROM .* AS runtime$/m)[1]!;
const PACKAGE = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function typescriptSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return typescriptSources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Links each installed package into `to`, leaving the devDependencies out. */
function linkPackages(from: string, to: string, scope: string): void {
  mkdirSync(to);
  for (const entry of readdirSync(from)) {
    const name = scope ? `${scope}/${entry}` : entry;
    if (entry === '.bin' || name in PACKAGE.devDependencies) continue;
    if (!scope && entry.startsWith('@')) linkPackages(path.join(from, entry), path.join(to, entry), entry);
    else symlinkSync(path.join(from, entry), path.join(to, entry));
  }
}

describe('the orders command in the Docker image', () => {
  let image: string;

  beforeAll(async () => {
    // The runtime stage's layout in a temporary folder: dist/ compiled as dev/scripts/build.ts
    // compiles it, bin/, and the installed packages but the devDependencies (tsx among them).
    image = mkdtempSync(path.join(os.tmpdir(), 'orders-image-'));
    await build({
      entryPoints: typescriptSources(path.join(REPO_ROOT, 'src')),
      outdir: path.join(image, 'dist'),
      outbase: REPO_ROOT,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      logLevel: 'warning',
    });
    cpSync(path.join(REPO_ROOT, 'bin'), path.join(image, 'bin'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'package.json'), path.join(image, 'package.json'));
    linkPackages(path.join(REPO_ROOT, 'node_modules'), path.join(image, 'node_modules'), '');
  });

  afterAll(() => {
    if (image) rmSync(image, { recursive: true, force: true });
  });

  it('installs production dependencies only, with bin/ beside the compiled dist/', () => {
    expect(RUNTIME_STAGE).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(RUNTIME_STAGE).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(RUNTIME_STAGE).toMatch(/^COPY bin \.\/bin$/m);
    const instructions = RUNTIME_STAGE.split('\n').filter((line) => !line.startsWith('#'));
    expect(instructions.filter((line) => /\btsx\b/.test(line))).toEqual([]);
    // tsx runs the sources in development only.
    expect(PACKAGE.dependencies).not.toHaveProperty('tsx');
    expect(PACKAGE.devDependencies).toHaveProperty('tsx');
  });

  it('runs the compiled JavaScript there, without tsx', async () => {
    const help = await runCommand(process.execPath, [path.join(image, 'bin', 'orders.js'), '--help']);
    expect({ code: help.code, stderr: help.stderr }).toEqual({ code: 0, stderr: '' });
    expect(help.stdout).toContain('orders create');

    // A real command gets as far as connecting: NATS is unreachable here, which is exit code 3.
    const list = await runCommand(process.execPath, [path.join(image, 'bin', 'orders.js'), 'list'], {
      NATS_URL: 'nats://127.0.0.1:1',
    });
    expect(list.code).toBe(3);
    expect(list.stderr).toContain('cannot reach NATS');
  });

  it('says to build when there is nothing compiled to run', async () => {
    const bare = mkdtempSync(path.join(os.tmpdir(), 'orders-bare-'));
    try {
      cpSync(path.join(REPO_ROOT, 'bin'), path.join(bare, 'bin'), { recursive: true });
      const result = await runCommand(process.execPath, [path.join(bare, 'bin', 'orders.js'), '--help']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/dist\/src\/scripts\/orders\.js is missing; run `npm run build` first/);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
