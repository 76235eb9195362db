// hypertest: what the generated configs (one unit's, a run session's) share: the user's Playwright
// config loaded the way Playwright loads a config, its paths made absolute (the generated configs live
// in another folder), and the overrides of hypertest.yml (testRunner.use, testRunner.webServer)
// applied. Required by absolute path.
//
// Loading goes through Playwright's own loader (`requireOrImport` of the Playwright that is loading the
// generated config): require() with its TypeScript transform for CommonJS files, import() through its
// ESM loader for ES modules (`"type": "module"`, .mjs, .mts), so top-level await, ESM imports of local
// files and TypeScript in either form load exactly as under `playwright test`. A plain require() could
// not load an ES module ("exports is not defined in ES module scope").
'use strict';
const fs = require('fs');
const path = require('path');

function list(value) {
  return value === undefined || value === null ? [] : (Array.isArray(value) ? value : [value]);
}

// Where Playwright keeps requireOrImport: lib/transform/transform.js up to 1.5x, lib/common/index.js
// (bundled, as `transform`) in later releases. Checked by what the module exports, not by version.
const LOADER_MODULES = [
  { file: ['lib', 'transform', 'transform.js'], pick: (m) => m },
  { file: ['lib', 'common', 'index.js'], pick: (m) => m && m.transform },
];

function loaderOf(packageDir) {
  for (const { file, pick } of LOADER_MODULES) {
    const modulePath = path.join(packageDir, ...file);
    if (!fs.existsSync(modulePath)) continue;
    const exported = pick(require(modulePath));
    if (exported && typeof exported.requireOrImport === 'function') return exported;
  }
  return null;
}

// The playwright package loading this config: it has already loaded its loader module, so it is in
// require.cache; using that very instance keeps its transform hooks, ESM loader channel and compilation
// cache. Outside Playwright (never in practice) the project's own package is resolved from the config.
function playwrightPackage(userConfigFile) {
  const loaded = [];
  for (const file of Object.keys(require.cache)) {
    const match = /^(.*[\\/]playwright)[\\/]lib[\\/](?:transform[\\/]transform\.js|common[\\/]index\.js)$/.exec(file);
    if (match && !loaded.includes(match[1])) loaded.push(match[1]);
  }
  const candidates = loaded.length ? loaded
    : [path.dirname(require.resolve('playwright/package.json', { paths: [path.dirname(userConfigFile)] }))];
  for (const dir of candidates) {
    const loader = loaderOf(dir);
    if (!loader) continue;
    const version = String(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version || '');
    return { dir, version, requireOrImport: loader.requireOrImport };
  }
  throw new Error(`hypertest: Playwright's config loader was not found (looked in ${candidates.join(', ')})`);
}

// Whether this Playwright release is at least major.minor.
function atLeast(version, major, minor) {
  const match = /^(\d+)\.(\d+)/.exec(version);
  return !!match && (+match[1] > major || (+match[1] === major && +match[2] >= minor));
}

// A global hook file loaded as Playwright loads one (its loadGlobalHook where the release has it).
async function loadGlobalHook(playwright, config, file) {
  const modulePath = path.join(playwright.dir, 'lib', 'runner', 'loadUtils.js');
  const load = fs.existsSync(modulePath) ? require(modulePath).loadGlobalHook : undefined;
  if (typeof load === 'function') return load({ config }, file);
  let hook = await playwright.requireOrImport(file);
  if (hook && typeof hook === 'object' && 'default' in hook) hook = hook.default;
  if (typeof hook !== 'function') throw new Error(`${file}: file must export a single function.`);
  return hook;
}

async function userConfig(settings) {
  const playwright = playwrightPackage(settings.userConfig);
  // As Playwright's configLoader does: await what the file gives (a CommonJS module may export a
  // promise), then take its default export when it has one.
  let user = await playwright.requireOrImport(settings.userConfig);
  if (user && typeof user === 'object' && 'default' in user) user = user.default;
  user = user || {};
  const configDir = path.dirname(settings.userConfig);
  const abs = (value) => (typeof value === 'string' ? path.resolve(configDir, value) : value);
  return {
    user,
    playwright,
    abs,
    absList: (value) => (Array.isArray(value) ? value.map(abs) : abs(value)),
    list,
    // testRunner.use goes over the config's `use` (top level and every project).
    withOverride: (use) => (settings.useOverride ? { ...(use || {}), ...settings.useOverride } : use),
    // testRunner.webServer: null (absent) keeps the config's, false removes it, else replaces it.
    webServers: () => {
      const configured = settings.webServerOverride === null ? user.webServer
        : (settings.webServerOverride === false ? undefined : settings.webServerOverride);
      if (configured === undefined || configured === null) return undefined;
      return list(configured).map((server) => ({ ...server, cwd: abs(server.cwd ?? '.') }));
    },
  };
}

module.exports = { userConfig, loadGlobalHook, atLeast };
