// hypertest: the shapes of Playwright's test-runner internals the warm host can drive, one adapter each, chosen
// by feature checks on the project's own playwright package (what it exports and how its functions are
// called), not by its version alone. Each adapter loads a unit's config as `playwright test -c <config>
// --test-list <file> | --grep <pattern> [--no-deps] [--retries N]` loads it, and runs it as that command does.
// `selections` says how the adapter can be told a unit's tests (the runner picks the form its Playwright
// honours exactly: a prefix-matching test list from 1.58, a grep before). An adapter may decline a unit
// (`declines(unit)` answers why): its command line runs it, and the host serves the next.
//
// - "options" (1.60 and later; checked on 1.65.2): lib/common and lib/runner are bundles;
//   runAllTestsWithConfig(config, options) takes the command line's run options as its second argument. Test
//   lists. Workers from lib/worker/workerProcessEntry.js.
// - "config fields" (1.55 to 1.59; checked on 1.55.1, 1.56.1, 1.57.0, 1.58.2, 1.59.1): one module per part;
//   runAllTestsWithConfig(config) reads the command line's options from config.cli* fields, which the `test`
//   command sets before calling it. Greps, and test lists where the release's `test` command knows --test-list
//   (1.56). Workers from lib/common/process.js.
// - "runner class" (1.42 to 1.54; checked on 1.42.1, 1.43.1, 1.44.1, 1.45.3, 1.46.1, 1.47.2, 1.48.2, 1.49.1,
//   1.50.1, 1.51.1, 1.52.0, 1.53.2, 1.54.2): the config from loadConfig(location, overrides, ignoreDeps), the
//   run from `new Runner(config).runAllTests()` with config.cli* fields. Greps. Workers from
//   lib/common/process.js. warm_api_runner.cjs.
// - "loader class" (1.40 and 1.41; checked on 1.40.1, 1.41.2): the config from `new ConfigLoader(overrides)
//   .loadConfigFile(file, ignoreDeps)`, the run as "runner class". Greps. Workers from lib/common/process.js.
//   warm_api_runner.cjs.
//
// `workerScript` is the script Playwright forks its workers from: the host keeps clean workers for the next
// units (worker_pool.cjs). lib/common/process.js is also the script of the out-of-process test loader, which
// only the UI and watch modes start, never the runs the host makes.
//
// A release older than the oldest checked (OLDEST_MINOR) or newer than the newest (NEWEST_MINOR) is not trusted
// even when its shape looks the same: loadPlaywright answers why, and the runner runs Playwright's command line
// for their units.
'use strict';
const fs = require('fs');
const path = require('path');

const { loaderClassShape, runnerClassShape } = require('./warm_api_runner.cjs');

const OLDEST_MINOR = 40;  // the oldest 1.x whose internals the warm runner was checked against
const NEWEST_MINOR = 69;  // the newest

function version(packageDir) {
  return String(JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')).version);
}

function tryRequire(file) {
  try {
    return require(file);
  } catch {
    return null;
  }
}

// What `playwright test` passes for our flags: --retries N (the others are absent).
function retriesOf(unit) {
  return unit.retries === null || unit.retries === undefined ? undefined : unit.retries;
}

function commandLine(unit) {
  const chosen = typeof unit.grep === 'string' ? ['--grep', unit.grep] : ['--test-list', unit.testList];
  const argv = [process.argv[0], 'playwright', 'test', '-c', unit.config, ...chosen];
  if (unit.noDeps) argv.push('--no-deps');
  if (unit.retries !== null && unit.retries !== undefined) argv.push('--retries', String(unit.retries));
  return argv;
}

function optionsShape(packageDir) {
  if (!fs.existsSync(path.join(packageDir, 'lib', 'common', 'index.js'))) return null;
  const common = tryRequire(path.join(packageDir, 'lib', 'common'));
  const runner = tryRequire(path.join(packageDir, 'lib', 'runner'));
  const load = common && common.configLoader && common.configLoader.loadConfigFromFile;
  const run = runner && runner.testRunner && runner.testRunner.runAllTestsWithConfig;
  const filter = runner && runner.projectUtils && runner.projectUtils.filterProjects;
  if (typeof load !== 'function' || typeof run !== 'function' || typeof filter !== 'function' || run.length < 2) {
    return null;
  }
  return {
    shape: 'options',
    selections: ['test-list'],
    declines: () => null,
    workerScript: path.join(packageDir, 'lib', 'worker', 'workerProcessEntry.js'),
    async loadConfig(unit) {
      return load(unit.config, { retries: retriesOf(unit), use: { trace: undefined }, argv: commandLine(unit) },
        !!unit.noDeps);
    },
    async run(config, unit) {
      filter(config.projects, undefined);
      return run(config, { listMode: false, passWithNoTests: false, lastFailed: false,
        testList: path.resolve(unit.cwd, unit.testList) });
    },
  };
}

function configFieldsShape(packageDir) {
  const lib = path.join(packageDir, 'lib');
  const configLoader = tryRequire(path.join(lib, 'common', 'configLoader.js'));
  const testRunner = tryRequire(path.join(lib, 'runner', 'testRunner.js'));
  const projectUtils = tryRequire(path.join(lib, 'runner', 'projectUtils.js'));
  const load = configLoader && configLoader.loadConfigFromFile;
  const run = testRunner && testRunner.runAllTestsWithConfig;
  const filter = projectUtils && projectUtils.filterProjects;
  if (typeof load !== 'function' || typeof run !== 'function' || typeof filter !== 'function' || run.length !== 1) {
    return null;
  }
  // Whether the release's `test` command (program.js, or testActions.js from 1.59) knows --test-list: it sets
  // config.cliTestList from it.
  const command = ['program.js', 'testActions.js'].map((name) => path.join(lib, name))
    .filter((file) => fs.existsSync(file)).map((file) => fs.readFileSync(file, 'utf8')).join('\n');
  return {
    shape: 'config fields',
    selections: command.includes('cliTestList') ? ['test-list', 'grep'] : ['grep'],
    declines: () => null,  // 1.53 and later register the ESM loader once per process themselves
    workerScript: path.join(lib, 'common', 'process.js'),
    async loadConfig(unit) {
      // The overrides our flags make (the others are absent or change nothing: a `use` key set to undefined
      // is not merged, pause and debug are off).
      return load(unit.config, { retries: retriesOf(unit) }, !!unit.noDeps);
    },
    async run(config, unit) {
      // What the `test` command sets, for our flags (no positional arguments, no project filter).
      const grep = typeof unit.grep === 'string' ? unit.grep : undefined;
      Object.assign(config, { cliArgs: [], cliGrep: grep, cliOnlyChanged: undefined, cliGrepInvert: undefined,
        cliListOnly: false, cliProjectFilter: undefined, cliPassWithNoTests: false, cliLastFailed: false,
        cliTestList: grep === undefined ? path.resolve(unit.cwd, unit.testList) : undefined,
        cliTestListInvert: undefined });
      filter(config.projects, config.cliProjectFilter);
      return run(config);
    },
  };
}

// The adapter for the project's Playwright: { api, version } or { reason, version }.
function loadPlaywright(packageDir) {
  const found = version(packageDir);
  const match = /^1\.(\d+)\./.exec(found);
  if (!match || +match[1] > NEWEST_MINOR || +match[1] < OLDEST_MINOR) {
    return { reason: `Playwright ${found} is not a version the warm runner knows ` +
      `(oldest: 1.${OLDEST_MINOR}, newest: 1.${NEWEST_MINOR})`, version: found };
  }
  const api = optionsShape(packageDir) || configFieldsShape(packageDir) || runnerClassShape(packageDir) ||
    loaderClassShape(packageDir);
  if (!api) {
    return { reason: `Playwright ${found} has none of the internal shapes the warm runner drives (options: 1.60 ` +
      'and later; config fields: 1.55 to 1.59; runner class: 1.42 to 1.54; loader class: 1.40 and 1.41)',
    version: found };
  }
  return { api, version: found };
}

module.exports = { loadPlaywright };
