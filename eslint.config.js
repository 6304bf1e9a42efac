import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'data/**',
      'web/vendor/**',
      'web/**/*.d.ts',
      'coverage/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    // Start-up time: modules that only some configurations need load with
    // `await import()` where they are configured (README, "Start-up").
    files: ['src/**/*.ts'],
    ignores: ['src/storage/s3.ts', 'src/jobs/bull-queue.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@fastify/type-provider-typebox',
              allowTypeImports: true,
              message:
                "import Type from 'typebox': the provider's runtime also loads typebox's compiler and value modules",
            },
            ...['ioredis', 'bullmq', 'mysql2', 'mysql2/promise'].map((name) => ({
              name,
              allowTypeImports: true,
              message: 'load it with await import() where it is configured',
            })),
          ],
          patterns: [
            {
              group: ['@aws-sdk/*', '**/storage/s3.js', '**/jobs/bull-queue.js'],
              allowTypeImports: true,
              message: 'load it with await import() where it is configured',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests read JSON bodies (`res.json()` is untyped) and poke at internals.
    files: ['test/**/*.ts', 'emulator/test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        localStorage: 'readonly',
        console: 'readonly',
        FormData: 'readonly',
        URL: 'readonly',
        Audio: 'readonly',
        setTimeout: 'readonly',
      },
    },
  },
  {
    // The page's modules: tsc (tsconfig.web.json) checks names and types against the DOM.
    files: ['web/**/*.js'],
    rules: { 'no-undef': 'off' },
  },
);
