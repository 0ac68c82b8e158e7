// Lint settings: typescript-eslint's recommended rules, plus the type-aware promise rules that matter
// in a stream processor (no forgotten promise, no promise where a callback returns void). svelte-check covers web/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import regexp from 'eslint-plugin-regexp';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'proto/gen/**', 'web/**', 'test-output/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Parsers strip control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // Code that runs regular expressions on log records, bodies and feeds: no pattern may backtrack or
    // move super-linearly on input (npm run audit:regex runs the deeper recheck analysis on the same files).
    files: ['services/normalize/**/*.ts', 'services/ingest/**/*.ts', 'services/core/ecs.ts', 'services/core/untrusted.ts', 'services/enrich/feeds.ts', 'tools/cli/parse.ts'],
    ignores: ['**/*.test.ts'],
    plugins: { regexp },
    rules: {
      'regexp/no-super-linear-backtracking': ['error', { report: 'potential' }],
      'regexp/no-super-linear-move': ['error', { report: 'potential', ignoreSticky: false }],
    },
  },
  {
    // Tests read JSON answers loosely.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.ts'],
    ignores: ['*.config.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
);
