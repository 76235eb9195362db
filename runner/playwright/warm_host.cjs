// hypertest's warm Playwright host: one Node process that runs unit after unit the way
// `playwright test -c <config> --test-list <file> [--no-deps] [--retries N]` runs one, without starting
// Node, loading Playwright's modules and reading the test files again for each. Driven by
// runner/warm_host.py over the socket on the file descriptor named in argv[2]: one JSON line in (a
// unit), one JSON line out (its status and exit code).
//
// It calls what Playwright's own `test` command calls (configLoader.loadConfigFromFile, then
// testRunner.runAllTestsWithConfig) through the project's own playwright package. Those are
// Playwright's internals: warm_api.cjs holds one adapter per shape they have had, chosen by feature checks,
// and the host answers {"ready": false, "reason": ...} when none fits; the runner then runs Playwright's
// command line for every unit, as it does without a warm host. An adapter may decline one unit (it answers
// {"declined": reason}): the runner runs that unit's command line and keeps the host.
'use strict';
const fs = require('fs');
const net = require('net');
const { WorkerPool } = require('./worker_pool.cjs');
const { replaceEnvironment } = require('./environment.cjs');
const { loadPlaywright: loadApi } = require('./warm_api.cjs');

// The adapter for the project's Playwright (warm_api.cjs), and the pool of kept workers where its shape
// starts them from a script the pool knows.
function loadPlaywright(packageDir) {
  const loaded = loadApi(packageDir);
  if (!loaded.api) return loaded;
  const script = loaded.api.workerScript;
  const pool = script && fs.existsSync(script) ? new WorkerPool(script) : null;
  return { ...loaded, pool };
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

// What loading each config changed in process.env, by config: a user's config module runs once per process
// (later loads find it cached), so what it sets at its top level (process.env.X = ...) is set again for each
// later unit, after the unit's own environment replaced the host's, as a fresh `playwright test` process
// would have it when it forks its workers (a kept worker gets that environment).
const configEnvironment = new Map();

function settleConfigEnvironment(key, before) {
  const recorded = configEnvironment.get(key) || {};
  const changed = {};
  for (const name of new Set([...Object.keys(before), ...Object.keys(process.env)])) {
    if (before[name] !== process.env[name]) changed[name] = process.env[name] === undefined ? null : process.env[name];
  }
  for (const [name, value] of Object.entries(recorded)) {
    if (Object.prototype.hasOwnProperty.call(changed, name)) continue;
    if (value === null) delete process.env[name];
    else process.env[name] = value;
  }
  configEnvironment.set(key, { ...recorded, ...changed });
}

async function runUnit({ api, pool }, unit) {
  replaceEnvironment(unit.env);
  process.chdir(unit.cwd);
  // A unit the adapter cannot run as its command line would (warm_api.cjs): the runner runs that command line.
  const declined = api.declines(unit);
  if (declined) return { declined, keptWorkers: pool ? pool.pids() : [] };
  const logFd = fs.openSync(unit.log, 'a');
  const restoreOutput = redirectOutput(logFd);
  try {
    // The config is read again for every unit (its settings file differs); the user's config and test
    // files stay loaded, as they do for every test of one `playwright test` run.
    delete require.cache[unit.config];
    const before = { ...process.env };
    const config = await api.loadConfig(unit);
    settleConfigEnvironment(unit.config, before);
    if (pool) {
      pool.drop(unit.dropWorkers || []);
      pool.startUnit({ keep: unit.keepWorkers, env: unit.env, unitVariables: unit.workerUnitVariables });
    }
    const status = await api.run(config, unit);
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
  send({ ready: true, version: loaded.version, shape: loaded.api.shape, selections: loaded.api.selections });
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
