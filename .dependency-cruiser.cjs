/**
 * The node's layers, kept by a rule (docs/architecture.md, issue 19): fhir ← store ← rest ← ihe, channels ← modules ← http ← node.
 * Each layer imports only those to its left (and itself); the shared one-file utilities below may be imported from
 * any layer and import only fhir/ and each other. Type-only imports count. No import cycles anywhere, in the node,
 * the Electron shell or the renderer. Run by tests/project/layers.test.ts, so `npm test` fails on a breach.
 */

const SHARED = '^src-server/(version|sealing|sealed-chunks|data-key|threads|seeded-random|node-settings|data-dir)\\.ts$';
const FHIR = '^src-server/fhir/';
const STORE = '^src-server/store/';
const REST = '^src-server/rest/';
const IHE = '^src-server/ihe/';
const CHANNELS = '^src-server/channels/';
const MODULES = '^src-server/(patients|appointments|documents|integrations|subscriptions|sync|directory|text|auth|audit|setup|lifen|backup)/';
const HTTP = '^src-server/http/';

/** A layer may import from `allowed` (and shared utilities); anything else in src-server is refused. */
const layer = (name, path, allowed, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path },
  to: { path: '^src-server/', pathNot: [...allowed, SHARED] },
});

module.exports = {
  forbidden: [
    {
      name: 'fhir-is-pure',
      comment: 'fhir/ is FHIR semantics alone: it imports nothing else of the node, not even the shared utilities.',
      severity: 'error',
      from: { path: FHIR },
      to: { path: '^src-server/', pathNot: FHIR },
    },
    layer('store-on-fhir', STORE, [FHIR, STORE], 'store/ knows FHIR semantics and nothing above it.'),
    layer('rest-on-store', REST, [FHIR, STORE, REST], 'rest/ defines the interfaces it needs of the modules (caller, text matcher, audit sink) rather than importing them.'),
    layer('ihe-on-fhir', IHE, [FHIR, IHE], 'ihe/ writes IHE packages (XDS metadata, the XDM zip) from what a channel gives it: no store, no module, so every channel can use it.'),
    layer('channels-on-fhir', CHANNELS, [FHIR, CHANNELS], 'channels/ is the contract between the document outbox and the channels that deliver: documents/ and integrations/ both implement it, so neither needs the other for it.'),
    layer('modules-on-rest', MODULES, [FHIR, STORE, REST, IHE, CHANNELS, MODULES], 'Modules plug into rest/ and use the store; HTTP and the composition root are above them.'),
    layer('http-on-modules', HTTP, [FHIR, STORE, REST, IHE, CHANNELS, MODULES, HTTP], 'http/ is Fastify over what lies below; only the node wires it.'),
    {
      name: 'integrations-below-documents',
      comment: 'The document outbox makes the DPI and DMP channels; they implement channels/ and write with ihe/, never reaching back into documents/.',
      severity: 'error',
      from: { path: '^src-server/integrations/' },
      to: { path: '^src-server/documents/' },
    },
    {
      name: 'shared-utilities-stay-shared',
      comment: 'The shared one-file utilities are imported from every layer, so they import only fhir/ and each other.',
      severity: 'error',
      from: { path: SHARED },
      to: { path: '^src-server/', pathNot: [FHIR, SHARED] },
    },
    {
      name: 'node-without-electron',
      comment: 'src-server runs the same inside Electron, headless, in tests and benchmarks (DESIGN §3).',
      severity: 'error',
      from: { path: '^src-server/' },
      to: { path: '^electron$|^node_modules/electron/' },
    },
    {
      name: 'no-circular',
      comment: 'An import cycle ties modules that should be apart; type-only imports count.',
      severity: 'error',
      from: { path: '^src-(server|main|renderer)/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.node.json' },
    exclude: { path: '^(node_modules|out|test-results)/' },
  },
};
