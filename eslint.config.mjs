// Flat config, on ESLint 10 (defineConfig; typescript-eslint's own `config()` helper is deprecated).
// Service code and the development tooling that starts it (dev/) get typescript-eslint's type-checked
// rules; tests, whose matchers (expect.any, JSON.parse of replies) are `any` by design, and the bench
// (development tooling, never shipped) get the plain recommended set. All treat a dropped or misused
// promise (a lost error, an unfinished shutdown) as an error. What ships (src/) may not import
// development tooling (dev/), which the build and the image leave out, nor build a query's row schema
// per query. test/unit/eslint-config.test.ts checks each of these.
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// zod 4 compiles a schema's parser the first time it is used: one built per query costs 30-150 µs
// each time. Row schemas are module constants, sql.type(orderRow).
const rowSchemaBuiltOnce = {
  selector: "CallExpression[callee.object.name='sql'][callee.property.name='type'] > CallExpression",
  message: 'Give sql.type() a row schema built once, at module level, not one built per query.',
};

const promiseRules = {
  '@typescript-eslint/no-floating-promises': 'error',
  '@typescript-eslint/no-misused-promises': 'error',
  '@typescript-eslint/await-thenable': 'error',
  '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
};

export default defineConfig(
  globalIgnores(['dist/**', 'node_modules/**', '.data/**', 'coverage/**', '.scratch/**']),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  { files: ['src/**/*.ts', 'dev/**/*.ts'], extends: [tseslint.configs.recommendedTypeChecked] },
  { files: ['test/**/*.ts', 'bench/**/*.ts', '*.ts'], extends: [tseslint.configs.recommended] },
  { files: ['**/*.ts'], rules: promiseRules },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+dev(/|$)',
              message: 'src/ ships without dev/: development tooling may import the product, not the reverse.',
            },
          ],
        },
      ],
      'no-restricted-syntax': ['error', rowSchemaBuiltOnce],
    },
  },
  {
    // The workflow bundle's modules are loaded once and shared by every order in the worker
    // (src/worker/workflow-code.ts): a module-level variable would leak from one order to the next.
    // (A later block's options replace the src/ block's for these files: rowSchemaBuiltOnce again.)
    files: ['src/workflows/**/*.ts', 'src/orders/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        rowSchemaBuiltOnce,
        ...['Program > VariableDeclaration', 'Program > ExportNamedDeclaration > VariableDeclaration'].map((path) => ({
          selector: `${path}[kind!="const"]`,
          message: 'Workflow modules are shared by every order: keep state in the objects a workflow creates.',
        })),
      ],
    },
  },
  {
    // CommonJS config files (jest.config.js) use module.exports.
    files: ['**/*.js', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
