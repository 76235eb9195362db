// A Playwright worker that may serve several units of one warm host (runner/playwright/worker_pool.cjs).
// It loads Playwright's own worker (argv[2]) unchanged, and answers two more messages, which Playwright's
// worker ignores:
//   {method: '__ht_unit__', params: {env, cwd}}  the next unit's environment and folder, before its tests;
//   {method: '__ht_detach__'}                    the unit ended: close the browser contexts and API request
//                                                 contexts its tests left open (no context or page outlives
//                                                 its unit), then reply with the variables its tests set, as
//                                                 Playwright's worker does when it stops (__env_produced__),
//                                                 and whether it could clean up (else it is not kept).
'use strict';
const path = require('path');
const { replaceEnvironment } = require('./environment.cjs');

// Playwright's worker keeps its index in these (and, in 1.40 and 1.41, its artifacts folder); they stay the
// worker's own from unit to unit.
const OWN_VARIABLES = ['TEST_WORKER_INDEX', 'TEST_PARALLEL_INDEX', 'TEST_ARTIFACTS_DIR'];
let unitEnv = { ...process.env };

function takeUnitEnvironment(env) {
  replaceEnvironment(env, OWN_VARIABLES);
  unitEnv = { ...process.env };
}

function producedEnvironment() {
  const names = new Set([...Object.keys(process.env), ...Object.keys(unitEnv)]);
  return [...names].filter((name) => !OWN_VARIABLES.includes(name) && unitEnv[name] !== process.env[name])
    .map((name) => [name, process.env[name] === undefined ? null : process.env[name]]);
}

process.on('message', (message) => {
  if (!message || typeof message !== 'object') return;
  if (message.method === '__ht_unit__') {
    takeUnitEnvironment(message.params.env);
    try {
      process.chdir(message.params.cwd);
    } catch {
      // the unit's folder is gone: its tests fail as they would in any worker
    }
  } else if (message.method === '__ht_detach__') {
    closeLeftovers().then((clean) => {
      process.send({ method: '__ht_detached__', params: { env: producedEnvironment(), clean } });
    });
  }
});

// The Playwright library the tests used in this worker, if they used it (the copy beside Playwright's runner).
function loadedLibrary() {
  try {
    const packageDir = path.resolve(path.dirname(process.argv[2]), '..', '..');
    const resolved = require.resolve('playwright-core', { paths: [packageDir] });
    return require.cache[resolved] ? { library: require(resolved) } : { library: null };
  } catch {
    return { library: null };
  }
}

// The browser contexts open in this worker: Playwright's own list (_allContexts, 1.51 and later), or what it
// joins, its browser types' lists (checked on 1.40 to 1.50); null when neither is there.
function openContexts(library) {
  if (typeof library._allContexts === 'function') return library._allContexts();
  const types = [library.chromium, library.firefox, library.webkit];
  return types.every((type) => type && type._contexts instanceof Set) ? types.flatMap((type) => [...type._contexts])
    : null;
}

// Close what the unit's tests left open; false when this Playwright does not say what is open.
async function closeLeftovers() {
  const { library } = loadedLibrary();
  if (!library) return true;
  const contexts = openContexts(library);
  if (!contexts || !library.request || !(library.request._contexts instanceof Set)) return false;
  const requests = [...library.request._contexts];
  await Promise.all([...contexts.map((context) => context.close().catch(() => {})),
    ...requests.map((request) => request.dispose().catch(() => {}))]);
  return true;
}

require(process.argv[2]);
