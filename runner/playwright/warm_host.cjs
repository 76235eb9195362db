// hypertest's warm Playwright host: one Node process that runs unit after unit the way
// `playwright test -c <config> --test-list <file> [--no-deps] [--retries N]` runs one, without starting
// Node, loading Playwright's modules and reading the test files again for each. Driven by
// runner/warm_host.py over the socket on the file descriptor named in argv[2]: one JSON line in (a
// unit), one JSON line out (its status and exit code).
//
// It calls what Playwright's own `test` command calls (configLoader.loadConfigFromFile, then
// testRunner.runAllTestsWithConfig) through the project's own playwright package. Those are
// Playwright's internals, so the host first checks the version and the functions it needs and answers
// {"ready": false, "reason": ...} when they are not as expected; the runner then runs Playwright's
// command line for every unit, as it does without a warm host.
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');
const { WorkerPool } = require('./worker_pool.cjs');
const { replaceEnvironment } = require('./environment.cjs');

// The Playwright releases this host was checked against (their internals have this shape).
const SUPPORTED = { major: 1, minMinor: 60, maxMinor: 69 };

function loadPlaywright(packageDir) {
  const version = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')).version;
  const match = /^(\d+)\.(\d+)\./.exec(String(version));
  if (!match || +match[1] !== SUPPORTED.major || +match[2] < SUPPORTED.minMinor || +match[2] > SUPPORTED.maxMinor) {
    return { reason: `Playwright ${version} is not a version the warm runner knows ` +
      `(${SUPPORTED.major}.${SUPPORTED.minMinor}-${SUPPORTED.major}.${SUPPORTED.maxMinor})`, version };
  }
  const common = require(path.join(packageDir, 'lib', 'common'));
  const runner = require(path.join(packageDir, 'lib', 'runner'));
  const api = {
    loadConfigFromFile: common.configLoader && common.configLoader.loadConfigFromFile,
    runAllTestsWithConfig: runner.testRunner && runner.testRunner.runAllTestsWithConfig,
    filterProjects: runner.projectUtils && runner.projectUtils.filterProjects,
  };
  const missing = Object.keys(api).filter((name) => typeof api[name] !== 'function');
  if (missing.length) return { reason: `Playwright ${version} lacks ${missing.join(', ')}`, version };
  // Workers are kept only where Playwright starts them from the script this release has.
  const workerScript = path.join(packageDir, 'lib', 'worker', 'workerProcessEntry.js');
  const pool = fs.existsSync(workerScript) ? new WorkerPool(workerScript) : null;
  return { api, version, pool };
}

// What the unit's run prints goes to its log, as the command line's output would.
function redirectOutput(fd) {
  const saved = { out: process.stdout.write, err: process.stderr.write };
  const write = (chunk, encoding, callback) => {
    try {
      fs.writeSync(fd, typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : chunk);
    } catch {
      // a full disk must not end the run
    }
    const done = typeof encoding === 'function' ? encoding : callback;
    if (done) process.nextTick(done);
    return true;
  };
  process.stdout.write = write;
  process.stderr.write = write;
  return () => {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
  };
}

async function runUnit({ api, pool }, unit) {
  const logFd = fs.openSync(unit.log, 'a');
  const restoreOutput = redirectOutput(logFd);
  replaceEnvironment(unit.env);
  process.chdir(unit.cwd);
  try {
    // The config is read again for every unit (its settings file differs); the user's config and test
    // files stay loaded, as they do for every test of one `playwright test` run.
    delete require.cache[unit.config];
    const argv = [process.argv[0], 'playwright', 'test', '-c', unit.config, '--test-list', unit.testList];
    if (unit.noDeps) argv.push('--no-deps');
    if (unit.retries !== null && unit.retries !== undefined) argv.push('--retries', String(unit.retries));
    // The overrides `playwright test` makes of these options (the others are absent).
    const retries = unit.retries === null || unit.retries === undefined ? undefined : unit.retries;
    const overrides = { retries, use: { trace: undefined }, argv };
    const config = await api.loadConfigFromFile(unit.config, overrides, !!unit.noDeps);
    const options = { listMode: false, passWithNoTests: false, lastFailed: false,
      testList: path.resolve(unit.cwd, unit.testList) };
    api.filterProjects(config.projects, undefined);
    if (pool) {
      pool.drop(unit.dropWorkers || []);
      pool.startUnit({ keep: unit.keepWorkers, env: unit.env, unitVariables: unit.workerUnitVariables });
    }
    const status = await api.runAllTestsWithConfig(config, options);
    // Only a unit that passed leaves its workers to the next (a failed test's worker is never kept).
    if (pool && status !== 'passed') pool.discard();
    return { status, exitCode: status === 'interrupted' ? 130 : (status === 'passed' ? 0 : 1),
      keptWorkers: pool ? pool.pids() : [] };
  } catch (error) {
    // `playwright test` prints what it threw (as console.error shows it) and exits 1.
    console.error(error);
    if (pool) pool.discard();
    return { status: 'failed', exitCode: 1, threw: true, keptWorkers: [] };
  } finally {
    if (pool) pool.endUnit();
    restoreOutput();
    fs.closeSync(logFd);
  }
}

function main() {
  const channel = new net.Socket({ fd: Number(process.argv[2]), readable: true, writable: true });
  const send = (message) => channel.write(JSON.stringify(message) + '\n');
  let loaded;
  try {
    loaded = loadPlaywright(process.argv[3]);
  } catch (error) {
    loaded = { reason: `Playwright's modules did not load: ${error && error.message}` };
  }
  if (!loaded.api) {
    send({ ready: false, reason: loaded.reason, version: loaded.version || null });
    channel.end(() => process.exit(0));
    return;
  }
  send({ ready: true, version: loaded.version });
  let buffered = '';
  let busy = Promise.resolve();
  channel.setEncoding('utf8');
  channel.on('data', (text) => {
    buffered += text;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      busy = busy.then(async () => send(await runUnit(loaded, JSON.parse(line))));
    }
  });
  channel.on('end', () => process.exit(0));  // the runner went away: so does the host
}

main();
