// hypertest: the warm host's adapters for the shapes of Playwright's internals whose `test` command runs
// `new Runner(config).runAllTests()` (lib/runner/runner.js), 1.40 to 1.54; warm_api.cjs picks among all shapes.
// Both load a unit's config as `playwright test -c <config> --grep <pattern> [--no-deps] [--retries N]` loads
// it, set the config.cli* fields that command sets, and run it as it does. These releases have no --test-list:
// a unit's tests are selected by grep.
//
// - "loader class" (checked on 1.40.1, 1.41.2): the command (lib/cli.js) loads the config with
//   `new ConfigLoader(overrides).loadConfigFile(file, ignoreDeps)` (lib/common/configLoader.js).
// - "runner class" (checked on 1.42.1, 1.43.1, 1.44.1, 1.45.3, 1.46.1, 1.47.2, 1.48.2, 1.49.1, 1.50.1, 1.51.1,
//   1.52.0, 1.53.2, 1.54.2): the command (lib/program.js) loads it with loadConfigFromFileRestartIfNeeded (1.42
//   to 1.52) or loadConfigFromFile (1.53, 1.54), both loadConfig(location, overrides, ignoreDeps) after
//   resolving the file.
//
// Both fork their workers from lib/common/process.js, which the host keeps between units (worker_pool.cjs; a
// kept worker closes the contexts a unit left open from its browser types' lists, warm_worker.cjs).
//
// Which cli* fields the command sets, and whether it checks the project filter first (filterProjects, 1.51+),
// is read from the release's own `test` command (the runTests function), so a release that sets a field this
// file does not know gets no adapter.
//
// Per-process state the command line does not keep: Playwright's ESM loader. 1.41 and 1.42 register it (with
// Node's module.register) only for a config that is an ES module, 1.43 to 1.52 for every config, each time the
// command runs, and a second registration would chain a second loader; 1.53 and later register it once
// (loadConfig does, idempotently). So a host registers it once, as the first unit's command would, and declines
// a unit whose command would leave the loader otherwise (a config of the other kind); it also declines what
// the command line runs only by restarting itself (an ES module config on 1.40, which has no in-process
// loader, or on a Node without module.register). A declined unit runs its command line. Everything else
// Playwright keeps from run to run (the loaded test files, the compilation cache) it keeps within one command
// line too, as warm_host.cjs says.
'use strict';
const fs = require('fs');
const path = require('path');

function tryRequire(file) {
  try {
    return require(file);
  } catch {
    return null;
  }
}

// The config.cli* fields the `test` command of 1.40 to 1.54 may set, as it sets them for our command line
// (no test-filter arguments, no --grep-invert, --list, --project, --pass-with-no-tests, --fail-on-flaky-tests,
// --only-changed or --last-failed).
const CLI_FIELDS = {
  cliArgs: () => [],
  cliGrep: (unit) => unit.grep,
  cliGrepInvert: () => undefined,
  cliListOnly: () => false,
  cliProjectFilter: () => undefined,
  cliPassWithNoTests: () => false,
  cliFailOnFlakyTests: () => false,
  cliOnlyChanged: () => undefined,
  cliLastFailed: () => false,
};

// The release's `test` command: the source of its runTests function, or null.
function testCommand(lib) {
  for (const name of ['program.js', 'cli.js']) {
    const file = path.join(lib, name);
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    const start = text.indexOf('\nasync function runTests(');
    if (start < 0) continue;
    const end = text.indexOf('\n}\n', start);
    return end < 0 ? null : text.slice(start, end);
  }
  return null;
}

// What the command does that the adapters repeat: which cli* fields it sets (null when it sets one we do not
// know), whether it checks the project filter before running, how it loads the config.
function readCommand(lib) {
  const command = testCommand(lib);
  if (!command || !command.includes('.runAllTests()')) return null;
  const fields = [...command.matchAll(/config\.(cli\w+) = /g)].map((match) => match[1]);
  if (!fields.includes('cliGrep') || fields.some((field) => !(field in CLI_FIELDS))) return null;
  return { fields, filtersProjects: command.includes('filterProjects)(config.projects'), text: command };
}

// The common part of both shapes: the Runner class, the project filter check, the cli* fields.
function runnerParts(lib) {
  const runnerModule = tryRequire(path.join(lib, 'runner', 'runner.js'));
  const Runner = runnerModule && runnerModule.Runner;
  const command = readCommand(lib);
  if (typeof Runner !== 'function' || !Runner.prototype || typeof Runner.prototype.runAllTests !== 'function' ||
      !command) {
    return null;
  }
  const projectUtils = tryRequire(path.join(lib, 'runner', 'projectUtils.js'));
  const filter = projectUtils && projectUtils.filterProjects;
  if (command.filtersProjects && typeof filter !== 'function') return null;
  return {
    command,
    async run(config, unit) {
      for (const field of command.fields) config[field] = CLI_FIELDS[field](unit);
      if (command.filtersProjects) filter(config.projects, config.cliProjectFilter);
      return new Runner(config).runAllTests();
    },
  };
}

function isModuleFile(lib, file) {
  const util = tryRequire(path.join(lib, 'util.js'));
  return util && typeof util.fileIsModule === 'function' ? util.fileIsModule(file) : /\.m[jt]s$/.test(file);
}

// The ESM loader of 1.41 to 1.52, registered once per host as the first unit's command registers it.
// register(file): registers the loader as the command would for a config at file (a no-op where the command
// would not register it); registered(): whether it is registered now. Answers why a unit is declined, or null.
function esmLoaderOnce(lib, register, registered) {
  let registeredFor = null;  // whether the config that registered the loader was an ES module
  const hasModuleRegister = typeof require('node:module').register === 'function';
  return (unit) => {
    const isModule = isModuleFile(lib, unit.config);
    if (registeredFor !== null) {
      return registeredFor === isModule ? null : 'this host registered Playwright\'s ESM loader for a config ' +
        `${registeredFor ? 'that is' : 'that is not'} an ES module`;
    }
    if (isModule && !hasModuleRegister && !process.env.PW_DISABLE_TS_ESM) {
      return 'Playwright runs an ES module config on this Node.js by restarting itself with its ESM loader';
    }
    register(unit.config);
    if (registered()) registeredFor = isModule;
    return null;
  };
}

function retriesOf(unit) {
  return unit.retries === null || unit.retries === undefined ? undefined : unit.retries;
}

// "loader class": 1.40 and 1.41.
function loaderClassShape(packageDir) {
  const lib = path.join(packageDir, 'lib');
  const configLoader = tryRequire(path.join(lib, 'common', 'configLoader.js'));
  const ConfigLoader = configLoader && configLoader.ConfigLoader;
  const resolveConfigFile = configLoader && configLoader.resolveConfigFile;
  const parts = runnerParts(lib);
  if (typeof ConfigLoader !== 'function' || typeof ConfigLoader.prototype.loadConfigFile !== 'function' ||
      typeof resolveConfigFile !== 'function' || !parts ||
      !parts.command.text.includes('.loadConfigFile(resolvedConfigFile, opts.deps === false)')) {
    return null;
  }
  // lib/cli.js restartWithExperimentalTsEsm (not exported): unless PW_DISABLE_TS_ESM is set, 1.41 registers the
  // loader in this process for an ES module config (registerESMLoader); 1.40 has no such function and restarts
  // Node with --experimental-loader.
  const esm = tryRequire(path.join(lib, 'common', 'esmLoaderHost.js'));
  const register = esm && typeof esm.registerESMLoader === 'function' ? esm.registerESMLoader : null;
  const wouldRegister = (file) => !process.env.PW_DISABLE_TS_ESM && isModuleFile(lib, file);
  const declines = register
    ? esmLoaderOnce(lib, (file) => wouldRegister(file) && register(), () => !!esm.esmLoaderRegistered)
    : (unit) => (wouldRegister(unit.config)
      ? 'Playwright runs an ES module config only by restarting itself with Node\'s --experimental-loader' : null);
  return {
    shape: 'loader class',
    selections: ['grep'],
    workerScript: path.join(lib, 'common', 'process.js'),
    declines,
    async loadConfig(unit) {
      // What overridesFromOptions makes of our flags: --retries N (the other overrides are undefined).
      const loader = new ConfigLoader({ retries: retriesOf(unit) });
      return loader.loadConfigFile(resolveConfigFile(unit.config), !!unit.noDeps);
    },
    run: parts.run,
  };
}

// "runner class": 1.42 to 1.54.
function runnerClassShape(packageDir) {
  const lib = path.join(packageDir, 'lib');
  const configLoader = tryRequire(path.join(lib, 'common', 'configLoader.js'));
  const load = configLoader && configLoader.loadConfig;
  const parts = runnerParts(lib);
  const locate = configLoader && (configLoader.resolveConfigLocation || (configLoader.resolveConfigFile &&
    ((file) => ({ resolvedConfigFile: configLoader.resolveConfigFile(file), configDir: path.dirname(file) }))));
  if (typeof load !== 'function' || load.length !== 2 || typeof locate !== 'function' || !parts ||
      !/loadConfigFromFile(RestartIfNeeded)?\)\(opts\.config, .*, opts\.deps === false\)/.test(parts.command.text)) {
    return null;
  }
  // 1.42 to 1.52: loadConfigFromFileRestartIfNeeded calls restartWithExperimentalTsEsm first, which registers
  // the ESM loader (or restarts Node); 1.53 and 1.54: loadConfig registers it, once per process.
  const restart = configLoader.restartWithExperimentalTsEsm;
  const esm = tryRequire(path.join(lib, 'common', 'esmLoaderHost.js'));
  const declines = typeof restart === 'function'
    ? esmLoaderOnce(lib, (file) => restart(file), () => !!(esm && esm.esmLoaderRegistered))
    : () => null;
  return {
    shape: 'runner class',
    selections: ['grep'],
    workerScript: path.join(lib, 'common', 'process.js'),
    declines,
    async loadConfig(unit) {
      return load(locate(unit.config), { retries: retriesOf(unit) }, !!unit.noDeps);
    },
    run: parts.run,
  };
}

module.exports = { loaderClassShape, runnerClassShape };
