// ESLint (flat config): run by `npm test` (tests/project/lint.test.ts) and alone by `npm run lint`.
// typescript-eslint's type-aware rules catch what matters in a node that must not crash or drop a write: a
// promise nobody awaits or catches (an unhandled rejection ends the node's process), an async function given
// where a void callback is expected (Fastify hooks, event emitters and timers drop its rejection). Type
// information comes from the two TypeScript projects, found by the project service through the solution
// tsconfig.json (tsconfig.node.json, tsconfig.web.json). eslint-plugin-vue checks the single-file components.
import pluginVue from 'eslint-plugin-vue';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import vueParser from 'vue-eslint-parser';

/** The rules of the recommended Vue set that only lay out the template (indents, line breaks, quotes). */
const vueLayoutRules = Object.fromEntries(
  pluginVue.configs['flat/recommended']
    .flatMap((config) => Object.keys(config.rules ?? {}))
    .filter((name) => pluginVue.rules[name.replace(/^vue\//, '')]?.meta?.type === 'layout')
    .map((name) => [name, 'off']),
);

const typeAwareParserOptions = {
  projectService: true,
  tsconfigRootDir: import.meta.dirname,
  extraFileExtensions: ['.vue'],
};

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', 'dist/', 'coverage/', 'test-results/', 'src-renderer/public/'] },

  // Plain JavaScript (bin/, scripts/*.js, resources/build/*.mjs, this file): in no TypeScript project, so
  // linted without type information.
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.recommended],
    languageOptions: { globals: globals.node },
  },

  {
    files: ['**/*.ts', '**/*.vue'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: typeAwareParserOptions },
    rules: {
      // A FastifyReply is a thenable, no promise: its `then` only tells when the reply was sent, and nothing
      // rejects when nobody asks.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafePromises: [{ from: 'package', name: 'FastifyReply', package: 'fastify' }] }],
      '@typescript-eslint/no-misused-promises': 'error',
      // Inline `type` markers, as the code writes them; `import('…').T` stays allowed for ambient
      // declaration files that must not become modules (src-renderer/env.d.ts).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      // The conventions TypeScript's noUnusedLocals/noUnusedParameters already follow: a leading underscore
      // names what is there on purpose, and `const { a, ...rest } = x` drops `a` from `rest`.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // URLSearchParams (from @types/node here, not the DOM lib) renders itself as a query string.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allow: [{ name: ['Error', 'URL', 'URLSearchParams'], from: 'lib' }, { name: 'URLSearchParams', from: 'package', package: 'url' }] },
      ],

      // Turned off: the no-unsafe-* family and no-explicit-any. The code is strict TypeScript; the `any`s left
      // are parsed JSON at the edges (the tests and benchmarks read HTTP answers as `any` to assert on them:
      // 1,443 of the 1,490 findings; the 47 others untyped FHIR JSON in integrations/ and arrays or `new Map()`s
      // inferred as any). None of the findings was a bug.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // Turned off: an `async` function without `await` is how this code implements a promise-returning
      // interface (Fastify plugins and handlers, channels, close()): `async` turns a throw into a rejection.
      '@typescript-eslint/require-await': 'off',
      // Turned off: interfaces here declare callbacks with method syntax (`open(): void`) and the code passes
      // closures or bound functions through them (menu and tray actions, vue-i18n's `t`); every finding was one.
      '@typescript-eslint/unbound-method': 'off',
      // Turned off: every finding was a deliberate `String(value)` of parsed JSON of unknown shape, to put it
      // in an error message or to validate it next.
      '@typescript-eslint/no-base-to-string': 'off',
      // Turned off: each of its three findings is a `let` declared before the closures that read it and assigned
      // once later. Made `const`, it must be declared after them, and two of them (a disconnect or a signal during
      // a benchmark's start-up, bench/) would then throw in its dead zone instead of seeing `undefined`.
      'prefer-const': 'off',
      // Turned off: a cast TypeScript already proves is a style matter, not a bug; removing them would touch
      // lines other work is changing.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },

  {
    files: ['**/*.vue'],
    extends: [pluginVue.configs['flat/recommended']],
    languageOptions: {
      parser: vueParser,
      parserOptions: { ...typeAwareParserOptions, parser: tseslint.parser, sourceType: 'module' },
      globals: globals.browser,
    },
    // Turned off: the layout rules (template indents, line breaks, self-closing tags, attributes per line).
    // They catch no bug and the project has no formatter to apply them; templates keep their own layout.
    rules: vueLayoutRules,
  },
);
