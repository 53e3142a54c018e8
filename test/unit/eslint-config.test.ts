import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/run-command';

// eslint.config.mjs on ESLint 10: which rules each part of the repository gets, and that they still
// catch what they are there for (a dropped promise, src/ importing dev/, a row schema built per
// query, module state in workflow code). ESLint loads its config with a dynamic import, which jest's module system does not run, so
// a child node process asks ESLint's API and prints what it found.

type RuleEntry = string | number | [string | number, ...unknown[]];
interface Findings {
  version: string;
  rules: Record<string, Record<string, RuleEntry>>;
  messages: Record<string, string[]>;
}

const FILES = ['src/worker.ts', 'dev/scripts/start.ts', 'test/config.test.ts', 'bench/run.ts'];
/** Code standing in for an existing file (so the type-checked rules have its project), and what it breaks. */
const SAMPLES: Record<string, { file: string; code: string }> = {
  floatingPromise: {
    file: 'src/process-lifecycle.ts',
    code: 'async function stop(): Promise<void> {}\nexport function main(): void {\n  stop();\n}\n',
  },
  devImport: {
    file: 'src/heap-growth.ts',
    code: "import { versionOf } from '../dev/versions';\nexport const node = versionOf('node');\n",
  },
  schemaPerQuery: {
    file: 'src/db/pool.ts',
    code: "import { sql } from 'slonik';\nimport { z } from 'zod';\nexport const now = () => sql.type(z.object({ now: z.number() }))`SELECT 1 AS now`;\n",
  },
  schemaPerQueryInWorkflowFolders: {
    file: 'src/orders/money.ts',
    code: "import { sql } from 'slonik';\nimport { z } from 'zod';\nexport const now = () => sql.type(z.object({ now: z.number() }))`SELECT 1 AS now`;\n",
  },
  workflowState: {
    file: 'src/workflows/failures.ts',
    code: 'export let orders = 0;\nexport const bump = (): number => ++orders;\n',
  },
};

const PROBE = `
import path from 'node:path';
import { ESLint } from 'eslint';
const [files, samples] = JSON.parse(process.argv[1]);
const eslint = new ESLint({ cwd: process.cwd() });
const rules = {};
for (const file of files) rules[file] = (await eslint.calculateConfigForFile(path.resolve(file))).rules ?? {};
const messages = {};
for (const [name, { file, code }] of Object.entries(samples)) {
  const [result] = await eslint.lintText(code, { filePath: path.resolve(file) });
  messages[name] = result.messages.map((message) => message.ruleId ?? message.message);
}
process.stdout.write(JSON.stringify({ version: ESLint.version, rules, messages }));
`;

let findings: Findings;

beforeAll(async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', PROBE, JSON.stringify([FILES, SAMPLES])],
    { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 },
  );
  findings = JSON.parse(stdout) as Findings;
}, 120_000);

function severity(entry: RuleEntry | undefined): string | number | undefined {
  return Array.isArray(entry) ? entry[0] : entry;
}
const isError = (entry: RuleEntry | undefined) => severity(entry) === 'error' || severity(entry) === 2;

describe('eslint.config.mjs', () => {
  it('runs on ESLint 10 with a typescript-eslint that supports it', () => {
    expect(findings.version).toMatch(/^10\./);
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    expect(manifest.devDependencies.eslint).toMatch(/^\^10\./);
    const tseslint = JSON.parse(
      readFileSync(path.join(REPO_ROOT, 'node_modules/typescript-eslint/package.json'), 'utf8'),
    ) as { peerDependencies: Record<string, string> };
    expect(tseslint.peerDependencies.eslint).toContain('^10.0.0');
  });

  it.each(FILES)('treats a dropped or misused promise in %s as an error', (file) => {
    const rules = findings.rules[file] ?? {};
    for (const rule of [
      '@typescript-eslint/no-floating-promises',
      '@typescript-eslint/no-misused-promises',
      '@typescript-eslint/await-thenable',
      '@typescript-eslint/no-unused-vars',
    ]) {
      expect([rule, isError(rules[rule])]).toEqual([rule, true]);
    }
  });

  it('gives src/ and dev/ the type-checked rules, the tests and the bench only the plain recommended set', () => {
    const typeChecked = '@typescript-eslint/no-unsafe-assignment';
    expect(isError(findings.rules['src/worker.ts']?.[typeChecked])).toBe(true);
    expect(isError(findings.rules['dev/scripts/start.ts']?.[typeChecked])).toBe(true);
    for (const file of ['test/config.test.ts', 'bench/run.ts']) {
      expect(isError(findings.rules[file]?.[typeChecked])).toBe(false);
      expect(isError(findings.rules[file]?.['@typescript-eslint/no-explicit-any'])).toBe(true);
    }
  });

  it('catches a floating promise in service code', () => {
    expect(findings.messages.floatingPromise).toContain('@typescript-eslint/no-floating-promises');
  });

  it('keeps dev/ out of src/', () => {
    expect(findings.messages.devImport).toContain('no-restricted-imports');
  });

  it('refuses a row schema built per query (zod 4 compiles each schema on its first use)', () => {
    expect(findings.messages.schemaPerQuery).toContain('no-restricted-syntax');
    // Also where the workflow folders' own no-restricted-syntax replaces the src/ block's.
    expect(findings.messages.schemaPerQueryInWorkflowFolders).toContain('no-restricted-syntax');
  });

  it('refuses module-level state in workflow code', () => {
    expect(findings.messages.workflowState).toContain('no-restricted-syntax');
  });
});
