import type { Configuration } from 'electron-builder';

/**
 * Installers (`npm run dist`): NSIS for Windows, dmg for macOS, AppImage and deb for Linux. Build each platform on
 * its own machine with network access: electron-builder downloads Electron and rebuilds better-sqlite3 for Electron's
 * ABI there (npmRebuild), never as a postinstall. tests/e2e/packaging.test.ts checks this configuration offline.
 *
 * Environment, all optional:
 * - LIAISON_UPDATE_URL: where electron-updater looks for releases (a generic HTTPS folder); without it no update
 *   feed is built in and the app never calls out.
 * - macOS signing and notarisation: CSC_LINK/CSC_KEY_PASSWORD, and APPLE_API_KEY (path of the .p8 key), APPLE_API_KEY_ID, APPLE_API_ISSUER
 *   (or APPLE_ID, APPLE_APP_SPECIFIC_PASSWORD, APPLE_TEAM_ID): notarisation runs when those are set.
 * - Windows signing: CSC_LINK/CSC_KEY_PASSWORD (or WIN_CSC_LINK).
 */

const updateUrl = process.env.LIAISON_UPDATE_URL;
const notarize = Boolean(process.env.APPLE_API_KEY || process.env.APPLE_ID);

const config: Configuration = {
  appId: 'fr.liaison.desktop',
  productName: 'Liaison',
  executableName: 'liaison',
  copyright: 'Liaison',
  directories: { output: 'dist', buildResources: 'resources/build' },
  // What the app runs: the electron-vite build, the node's run-time resources, package.json (always added), and
  // the production dependencies (added by electron-builder from package.json).
  files: [
    'out/**',
    'resources/fhir/**',
    'resources/liaison/**',
    // The installer's default settings (identity provider and its client, docs/login.md), under each data folder's own.
    'resources/default-settings.json',
    // The IGC-Santé root: the ANS extraction service's TLS chain ends there (directory/refresh.ts).
    'resources/igc-sante-racine.pem',
    'resources/build/icon.png',
    'resources/build/tray*.png',
    // Needed by `npm run liaison` only, never by the app.
    '!node_modules/{tsx,esbuild,@esbuild,commander}/**',
    // better-sqlite3's sources and build leftovers: the app needs its JavaScript and the compiled module only.
    '!node_modules/better-sqlite3/{deps,src,binding.gyp}',
    '!node_modules/better-sqlite3/build/{deps,Release/obj,Release/obj.target,Release/.deps,Release/*.a,Release/test_extension.node,*.mk,Makefile,config.gypi,binding.Makefile}',
  ],
  asar: true,
  // A native module cannot be loaded from inside an archive.
  asarUnpack: ['node_modules/better-sqlite3/build/Release/*.node'],
  // Electron fuses flipped in the packaged binary (Electron security checklist).
  electronFuses: {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    grantFileProtocolExtraPrivileges: false,
  },
  publish: updateUrl ? { provider: 'generic', url: updateUrl } : null,
  win: {
    target: [{ target: 'nsis', arch: ['x64'] }],
    icon: 'resources/build/icon.ico',
  },
  nsis: {
    oneClick: false,
    perMachine: false,
    allowToChangeInstallationDirectory: true,
    createDesktopShortcut: true,
    createStartMenuShortcut: true,
    shortcutName: 'Liaison',
    // The practice's data stays when the app is uninstalled.
    deleteAppDataOnUninstall: false,
  },
  mac: {
    target: [{ target: 'dmg', arch: ['arm64', 'x64'] }],
    icon: 'resources/build/icon.icns',
    category: 'public.app-category.medical',
    hardenedRuntime: true,
    gatekeeperAssess: false,
    entitlements: 'resources/build/entitlements.mac.plist',
    entitlementsInherit: 'resources/build/entitlements.mac.plist',
    notarize,
  },
  dmg: { title: 'Liaison ${version}' },
  linux: {
    target: [
      { target: 'AppImage', arch: ['x64'] },
      { target: 'deb', arch: ['x64'] },
    ],
    icon: 'resources/build/icon.png',
    category: 'Office',
    synopsis: 'Nœud FHIR local pour les cabinets médicaux',
    maintainer: 'Liaison',
    desktop: { entry: { StartupWMClass: 'Liaison' } },
  },
};

export default config;
