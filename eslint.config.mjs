// ESLint (flat config) with typescript-eslint: the code linter `npm run lint`
// runs. Formatting is Prettier's (.prettierrc.json, `npm run format`), so no
// stylistic rule lives here. Type-aware rules read the TypeScript projects.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { pending } from './eslint.pending.mjs';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'out/',
      'out-bench/',
      'build/',
      'docs/api/',
      'prebuilds/',
      '.cache/',
      'node_modules/',
      'native/',
    ],
  },
  {
    // A disable comment that disables nothing is an error: each one is real or goes.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    rules: {
      // As tsc's noUnusedParameters: a leading underscore marks a name kept on purpose (an interface's signature).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        // lib/, test/ and examples/ are in tsconfig.test.json; bench/ in its own.
        project: ['./tsconfig.test.json', './tsconfig.bench.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    // Plain Node scripts (bin/, scripts/, a few bench helpers): not type-checked, Node's globals.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      ...tseslint.configs.disableTypeChecked.rules,
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  ...pending,
);
