// Lint rules. Besides the usual TypeScript checks, this file enforces the architecture rule of
// docs/architecture.md: src/core is a pure, deterministic state machine. It may import only
// other files of src/core, and may not touch the wall clock, timers, global randomness, the
// process or IO.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import path from 'node:path';

const coreDir = path.resolve('src/core');

/** Rule: a file under src/core imports only relative paths that stay under src/core. */
const coreBoundary = {
  meta: { type: 'problem', messages: { outside: "src/core may not import '{{source}}': the core is pure; pass IO in through ports" } },
  create(context) {
    const file = context.filename;
    function check(node) {
      if (!node.source || typeof node.source.value !== 'string') return;
      const source = node.source.value;
      const target = source.startsWith('.') ? path.resolve(path.dirname(file), source) : null;
      if (target === null || !(target + path.sep).startsWith(coreDir + path.sep)) {
        context.report({ node, messageId: 'outside', data: { source } });
      }
    }
    return { ImportDeclaration: check, ExportAllDeclaration: check, ExportNamedDeclaration: check, ImportExpression: check };
  },
};

const impure = (name, why) => ({ name, message: `${name} is not allowed in src/core: ${why}` });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', performance: 'readonly', TextEncoder: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Tests read untyped JSON from real processes; `any` there is the honest type.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/core/**/*.ts'],
    plugins: { tern: { rules: { 'core-boundary': coreBoundary } } },
    rules: {
      'tern/core-boundary': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-globals': ['error',
        impure('Date', 'time enters through tick(nowMs)'),
        impure('setTimeout', 'timers belong to the shell'), impure('setInterval', 'timers belong to the shell'),
        impure('setImmediate', 'timers belong to the shell'), impure('queueMicrotask', 'the core is synchronous'),
        impure('performance', 'time enters through tick(nowMs)'), impure('crypto', 'randomness enters through a seeded source'),
        impure('process', 'configuration enters as one validated object'), impure('require', 'the core imports nothing outside src/core'),
        impure('fetch', 'IO belongs to the shell'), impure('Buffer', 'use Uint8Array; Buffer is a Node API'),
      ],
      'no-restricted-properties': ['error',
        { object: 'Math', property: 'random', message: 'Math.random is not allowed in src/core: use the injected seeded random source' },
      ],
    },
  },
);
