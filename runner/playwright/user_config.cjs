// hypertest: what the generated configs (one unit's, a run session's) share: the user's Playwright
// config loaded the way Playwright loads a config, its paths made absolute (the generated configs live
// in another folder), and the overrides of hypertest.yml (testRunner.use, testRunner.webServer)
// applied. Required by absolute path.
//
// Loading does what Playwright's own loader (`requireOrImport`) does with a config file: a CommonJS file
// (.cjs/.cts, or .js/.ts outside a `"type": "module"` package) is require()d, inside Playwright with its
// TypeScript transform, which is installed while Playwright loads the generated config; an ES module
// (.mjs/.mts, or in a `"type": "module"` package) goes to Playwright's requireOrImport itself, which
// import()s it through Playwright's ESM loader: top-level await, ESM imports of local files and
// TypeScript ES modules load exactly as under `playwright test` (require() cannot load them: "exports
// is not defined in ES module scope"). What the file gives is awaited, as Playwright awaits it, so a
// config may export a promise. The generated config is then a promise too, only when it must be (an ES
// module, or an exported promise): a CommonJS config stays a plain object, as before.
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

// Whether Node.js loads the file as an ES module (the rule Playwright's fileIsModule follows too).
function isModuleFile(file) {
  if (/\.m[jt]s$/.test(file)) return true;
  if (/\.c[jt]s$/.test(file)) return false;
  for (let folder = path.dirname(file); ; folder = path.dirname(folder)) {
    const manifest = path.join(folder, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        return JSON.parse(fs.readFileSync(manifest, 'utf8')).type === 'module';
      } catch {
        return false;
      }
    }
    if (path.dirname(folder) === folder) return false;
  }
}

const isThenable = (value) => !!value && typeof value.then === 'function';

// As Playwright's configLoader does with what the file gave: its default export when it has one.
function defaultExport(loaded) {
  const user = (loaded && typeof loaded === 'object' && 'default' in loaded) ? loaded.default : loaded;
  return user || {};
}

function helpers(settings, user) {
  const configDir = path.dirname(settings.userConfig);
  const abs = (value) => (typeof value === 'string' ? path.resolve(configDir, value) : value);
  return {
    user,
    abs,
    absList: (value) => (Array.isArray(value) ? value.map(abs) : abs(value)),
    list,
    // The Playwright running this config (its folder, version and loader); only inside Playwright.
    playwright: () => playwrightPackage(settings.userConfig),
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

// build(helpers) once the user's config is loaded: its result, or a promise of it when loading is
// asynchronous (an ES module, or a CommonJS config that exports a promise).
function withUserConfig(settings, build) {
  const file = settings.userConfig;
  const loaded = isModuleFile(file) ? playwrightPackage(file).requireOrImport(file) : require(file);
  if (isThenable(loaded)) return Promise.resolve(loaded).then((value) => build(helpers(settings, defaultExport(value))));
  return build(helpers(settings, defaultExport(loaded)));
}

module.exports = { withUserConfig, loadGlobalHook, atLeast };
