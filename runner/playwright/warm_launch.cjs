// hypertest's warm browser, decided where Playwright decides which browser to launch: in the worker,
// when its `browser` fixture launches, on the very options it launches with. Those are the project's
// `use` with every `test.use()` of the spec file and its describes applied (a file-level launchOptions,
// channel, headless or browserName reaches only this point, never the config), so a browser the warm
// server cannot stand in for is launched as Playwright would launch it.
//
// Installed by the unit's wrapper config in each worker (runner/playwright/wrapper.config.cjs): it wraps
// `launch` on the `chromium` object of the worker's own playwright-core. A launch whose effective options
// (Playwright's defaults for the worker, `_defaultLaunchOptions`, under what the caller passes) are the
// server's connects to the server instead, as Playwright's fixture does with `connectOptions`. Where this
// Playwright keeps its defaults elsewhere (a shape not known here), every launch stays a launch.
'use strict';

// The endpoint of the current unit ({wsEndpoint, timeout, executablePath, args}) or null: read at each
// launch, so a worker kept across units uses the endpoint of the unit it serves.
const ENDPOINT = Symbol.for('hypertest.warmBrowserEndpoint');
const INSTALLED = Symbol.for('hypertest.warmLaunchInstalled');

// Launch options the server's browser has (or that do not change the browser): anything else launches.
const SERVABLE_OPTIONS = new Set(['executablePath', 'args', 'headless', 'timeout',
  'handleSIGINT', 'handleSIGTERM', 'handleSIGHUP']);
// Set by Playwright's `_browserOptions` fixture for every launch (folders of the run, not of the browser).
const FIXTURE_OPTIONS = new Set(['tracesDir', 'artifactsDir']);

// Whether the warm server's browser is the one these effective launch options would launch.
function servedBy(options, endpoint) {
  if (!endpoint || !options || typeof options !== 'object') return false;
  if (options.channel !== undefined || options.headless === false) return false;
  for (const key of Object.keys(options)) {
    if (options[key] !== undefined && !SERVABLE_OPTIONS.has(key) && !FIXTURE_OPTIONS.has(key)) return false;
  }
  const sorted = (list) => [...(list || [])].map(String).sort().join('\n');
  return options.executablePath === endpoint.executablePath && sorted(options.args) === sorted(endpoint.args);
}

// Playwright's defaults for launches in this worker: on the BrowserType up to 1.4x, on the Playwright
// object later; undefined when neither holds an object.
function workerDefaults(browserType) {
  const own = browserType._defaultLaunchOptions;
  if (own && typeof own === 'object') return own;
  const shared = browserType._playwright && browserType._playwright._defaultLaunchOptions;
  return shared && typeof shared === 'object' ? shared : undefined;
}

function install(chromium) {
  if (chromium[INSTALLED]) return;
  const launch = chromium.launch;
  if (typeof launch !== 'function' || typeof chromium.connect !== 'function') return;
  chromium.launch = async function launchOrConnect(options = {}) {
    const endpoint = globalThis[ENDPOINT];
    const defaults = workerDefaults(this);
    if (endpoint && defaults && servedBy({ ...defaults, ...options }, endpoint)) {
      return this.connect(endpoint.wsEndpoint, { timeout: endpoint.timeout });
    }
    return launch.call(this, options);
  };
  chromium[INSTALLED] = true;
}

// In a worker: serve this unit's Chromium launches from the warm server (endpoint null: launch them all).
// playwrightDir() is the `playwright` package running the worker; its playwright-core is the tests' one.
// Where it cannot be found, every launch stays a launch.
function useWarmBrowser(playwrightDir, endpoint) {
  globalThis[ENDPOINT] = null;
  if (!endpoint) return;
  let core;
  try {
    core = require(require.resolve('playwright-core', { paths: [playwrightDir()] }));
  } catch {
    return;
  }
  if (core && core.chromium) {
    install(core.chromium);
    globalThis[ENDPOINT] = endpoint;
  }
}

module.exports = { servedBy, useWarmBrowser };
