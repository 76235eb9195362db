// Warm workers for the warm host (runner/playwright/warm_host.cjs): a Playwright worker that ran a unit's
// tests without a failure serves the next unit that needs the same worker, as Playwright reuses a worker
// for the next test group of a run. That saves what a new worker costs each unit: a Node process, loading
// Playwright's modules, the config and the test file, and launching the browser (a worker-scoped fixture).
//
// Playwright starts its workers with child_process.fork, of lib/worker/workerProcessEntry.js from 1.60 and of
// lib/common/process.js before (which loads the worker's runner script its __init__ message names): the
// adapter in warm_api.cjs says which (workerScript). While a unit that may keep workers runs, the
// pool answers that fork with a Lease: an object that speaks the ChildProcess part Playwright's process
// host uses (send, the 'message' and 'exit' events, stdout, stderr, pid, kill). A lease attaches to a kept
// worker whose identity (environment, init parameters, the unit's settings, and Playwright's worker hash
// of the tests it runs) is the same, or to a new one started through runner/playwright/warm_worker.cjs.
// When Playwright stops the worker at the end of the unit, a clean worker is detached and kept instead:
// the host sees it exit. A worker whose tests failed (or that was stopped while busy) is stopped for
// real, as Playwright replaces a worker after a failure.
//
// Playwright gives a worker only test groups of one worker hash: the project, the digest of the test's
// worker-scoped fixtures (the test type's, a file-level `test.use`) and the repeatEachIndex. A worker
// handed a test of another digest fails it ("inconsistent test.use() options"), so a lease picks its
// worker only when the first test group arrives: the hash of its tests (which the result reporter notes
// from Playwright's own test cases in onBegin, HASHES below) joins the identity. Without a hash for every
// test of the group the worker is a new one and is not kept.
'use strict';
const childProcess = require('child_process');
const crypto = require('crypto');
const { EventEmitter } = require('events');
const fs = require('fs');
const path = require('path');

const WORKER_SCRIPT = path.join(__dirname, 'warm_worker.cjs');
const MAX_UNITS_PER_WORKER = 100;
const MAX_KEPT = 2;
const DETACH_TIMEOUT_MS = 5000;
// Test id -> Playwright's worker hash (test._workerHash) of the unit that runs, filled by
// runner/playwright/result_reporter.cjs in onBegin, in this process (the warm host's Playwright main process).
// A Map on a registered symbol, so the reporter needs nothing from this module.
const HASHES = Symbol.for('hypertest.workerHashes');
// The unit's settings only Playwright's main process reads (its reporters' files).
const MAIN_ONLY_SETTINGS = ['blobDir', 'blobName', 'resultReporter'];

function isRunTestGroup(message) {
  return message.method === '__dispatch__' && !!message.params && message.params.method === 'runTestGroup';
}

function failedTest(params) {
  return params.status !== 'skipped' && params.status !== params.expectedStatus;
}

function failedGroup(params) {
  return !!((params.fatalErrors && params.fatalErrors.length) ||
    (params.skipTestsDueToSetupFailure && params.skipTestsDueToSetupFailure.length) ||
    (params.fatalUnknownTestIds && params.fatalUnknownTestIds.length) ||
    params.unexpectedExitError || params.stoppedDueToUnhandledErrorInTestFail);
}

// The worker hash Playwright gave every test of a test group, or null (a test it did not note, or tests of
// several hashes, which Playwright never groups).
function workerHashOf(runPayload) {
  const hashes = globalThis[HASHES];
  const entries = runPayload && Array.isArray(runPayload.entries) ? runPayload.entries : [];
  if (!(hashes instanceof Map) || !entries.length) return null;
  const found = new Set(entries.map((entry) => hashes.get(entry && entry.testId)));
  const [hash] = found;
  return found.size === 1 && typeof hash === 'string' && hash ? hash : null;
}

// The identity of a worker: the unit's environment (as the runner sent it: Playwright's main process adds
// variables of its own as it loads), what Playwright added for this worker, its init parameters, the
// unit's settings, which the worker read when it loaded the config, and the worker hash of its tests.
// The hash is Playwright's main-process one: it is the same from unit to unit of one warm host because
// Playwright loads each test file once per process (its file suites are cached, so the fixture
// registrations, and their ids in the digest, stay the same objects) and leaves the project's `use` out
// of it (the project id stands for it, and the init parameters and settings for the config).
function identityOf(unitEnv, perUnit, forkEnv, runnerParams, workerHash) {
  const variables = Object.keys(unitEnv).filter((name) => !perUnit.has(name)).sort()
    .map((name) => [name, unitEnv[name]]);
  const added = Object.keys(forkEnv).filter((name) => !perUnit.has(name) && forkEnv[name] !== process.env[name]).sort()
    .map((name) => [name, forkEnv[name]]);
  let settings = null;
  try {
    settings = JSON.parse(fs.readFileSync(forkEnv.HT_WRAPPER_SETTINGS, 'utf8'));
    for (const name of MAIN_ONLY_SETTINGS) delete settings[name];
  } catch {
    return null;  // settings it cannot read: a worker of its own
  }
  const params = { ...runnerParams, workerIndex: undefined, parallelIndex: undefined, artifactsDir: undefined,
    config: { ...runnerParams.config, compilationCache: undefined } };
  return crypto.createHash('sha256').update(JSON.stringify({ variables, added, settings, params, workerHash }))
    .digest('hex');
}

class Worker {
  constructor(pool, key, options, runnerParams) {
    this.key = key;
    this.artifactsDir = runnerParams.artifactsDir;
    this.units = 0;
    this.failed = false;
    this.busy = false;
    this.ready = false;
    this.lease = null;
    this.queue = [];
    this.child = pool.fork(WORKER_SCRIPT, [pool.entryScript], options);
    this.child.on('message', (message) => this._received(message));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      pool.forget(this);
      if (this.lease) this.lease.ended(code, signal);
    });
    this.child.on('error', () => {});
    this.child.stdout && this.child.stdout.on('data', (chunk) => this.lease && this.lease.stdout.emit('data', chunk));
    this.child.stderr && this.child.stderr.on('data', (chunk) => this.lease && this.lease.stderr.emit('data', chunk));
  }

  get pid() {
    return this.child.pid;
  }

  send(message) {
    if (this.exited) return;
    if (!this.ready) {
      this.queue.push(message);
      return;
    }
    if (isRunTestGroup(message)) this.busy = true;
    this.child.send(message);
  }

  _received(message) {
    if (message && message.method === 'ready' && !this.ready) {
      this.ready = true;  // the lease said ready already
      for (const queued of this.queue.splice(0)) this.send(queued);
      return;
    }
    if (message && message.method === '__ht_detached__') {
      if (this.lease) this.lease.detached(message.params);
      return;
    }
    if (message && message.method === '__dispatch__' && message.params) {
      const { method, params } = message.params;
      if (method === 'testEnd' && params && failedTest(params)) this.failed = true;
      if (method === 'done') {
        this.busy = false;
        if (params && failedGroup(params)) this.failed = true;
      }
      if (method === 'teardownErrors') this.failed = true;
    }
    if (this.lease) this.lease.emit('message', message);
  }
}

// What Playwright's process host holds as its worker's ChildProcess.
// Playwright's process host says `ready` comes first, then sends __init__, then (its dispatcher) the first
// runTestGroup; the lease answers `ready` itself, keeps __init__, and picks its worker at that runTestGroup.
class Lease extends EventEmitter {
  constructor(pool, options) {
    super();
    this._pool = pool;
    this._options = options;
    this._worker = null;
    this._init = null;
    this._exited = false;
    this.stdout = new EventEmitter();
    this.stderr = new EventEmitter();
    setImmediate(() => this.emit('message', { method: 'ready' }));
  }

  get pid() {
    return this._worker ? this._worker.pid : undefined;
  }

  kill(signal) {
    if (this._worker && !this._worker.exited) this._worker.child.kill(signal);
    else if (!this._worker) this.ended(null, signal);  // nothing started: it ends as a killed process would
    return true;
  }

  send(message) {
    if (this._exited) return false;
    if (message.method === '__init__' && !this._worker && !this._init) {
      this._init = message;
      return true;
    }
    if (!this._worker && this._init && isRunTestGroup(message)) {
      this._attach(this._init, message.params.params);
    }
    if (!this._worker) {
      if (message.method === '__stop__') this.ended(0, null);  // stopped before it started: nothing ran
      return false;
    }
    if (message.method === '__stop__' && this._mayKeep()) {
      const worker = this._worker;
      worker.child.send({ method: '__ht_detach__' });
      // A worker that does not answer is not kept: it ends, and the host sees it end.
      setTimeout(() => {
        if (worker.lease === this && !worker.exited) worker.child.kill('SIGKILL');
      }, DETACH_TIMEOUT_MS).unref();
      return true;
    }
    this._worker.send(message);
    return true;
  }

  _attach(init, runPayload) {
    const env = this._options.env || process.env;
    const runnerParams = init.params.runnerParams;
    const pool = this._pool;
    const workerHash = workerHashOf(runPayload);
    const key = pool.unitEnv && workerHash && identityOf(pool.unitEnv, pool.unitVariables, env, runnerParams,
      workerHash);
    const kept = key && this._pool.take(key);
    if (kept) {
      this._worker = kept;
      kept.lease = this;
      fs.mkdirSync(kept.artifactsDir, { recursive: true });
      kept.send({ method: '__ht_unit__', params: { env, cwd: process.cwd() } });
    } else {
      this._worker = new Worker(this._pool, key, this._options, runnerParams);
      this._worker.lease = this;
      this._worker.send(init);
    }
    this._worker.units += 1;
  }

  _mayKeep() {
    const worker = this._worker;
    return this._pool.keep && worker.key && worker.ready && !worker.exited && !worker.busy && !worker.failed &&
      worker.units < MAX_UNITS_PER_WORKER;
  }

  // The worker closed what the unit's tests left open and said which variables they set: Playwright
  // hears that as a stopping worker's. One that could not clean up is stopped for real instead.
  detached(params) {
    const worker = this._worker;
    if (!params || !params.clean) {
      worker.send({ method: '__stop__' });
      return;
    }
    worker.lease = null;
    this._pool.put(worker);
    this.emit('message', { method: '__env_produced__', params: params.env });
    this.ended(0, null);
  }

  ended(code, signal) {
    if (this._exited) return;
    this._exited = true;
    if (this._worker && this._worker.lease === this) this._worker.lease = null;
    setImmediate(() => this.emit('exit', code, signal));
  }
}

class WorkerPool {
  // entryScript: the worker script of the Playwright package the host loaded.
  constructor(entryScript) {
    this.entryScript = path.resolve(entryScript);
    this.keep = false;
    this.unitEnv = null;  // the environment the runner sent for the unit that runs
    this.unitVariables = new Set();  // its variables a kept worker takes from each unit (the runner says which)
    this._kept = [];
    this._fork = childProcess.fork;
    const pool = this;
    childProcess.fork = function fork(modulePath, args, options) {
      if (!pool.keep || path.resolve(String(modulePath)) !== pool.entryScript) {
        return pool._fork.apply(this, arguments);
      }
      return new Lease(pool, Array.isArray(args) ? (options || {}) : (args || {}));
    };
  }

  fork(script, args, options) {
    return this._fork.call(childProcess, script, args, options);
  }

  // A unit starts: whether its workers may be kept, its environment and per-unit variables, and an empty
  // map for the worker hashes of its tests (only a unit that may keep workers needs them).
  startUnit({ keep, env, unitVariables }) {
    this.keep = !!keep;
    this.unitEnv = env;
    this.unitVariables = new Set(unitVariables || []);
    if (this.keep) globalThis[HASHES] = new Map();
    else delete globalThis[HASHES];
  }

  endUnit() {
    this.keep = false;
    this.unitEnv = null;
    delete globalThis[HASHES];
  }

  take(key) {
    const index = this._kept.findIndex((worker) => worker.key === key && !worker.exited);
    return index < 0 ? null : this._kept.splice(index, 1)[0];
  }

  put(worker) {
    this._kept.push(worker);
    while (this._kept.length > MAX_KEPT) this._stop(this._kept.shift());
  }

  forget(worker) {
    this._kept = this._kept.filter((kept) => kept !== worker);
  }

  // Stop every kept worker (after a unit that did not pass, or whose run threw).
  discard() {
    for (const worker of this._kept.splice(0)) this._stop(worker);
  }

  // Kill the kept workers the runner found broken (their browser ended between units, say).
  drop(pids) {
    for (const worker of this._kept.filter((kept) => pids.includes(kept.pid))) {
      this.forget(worker);
      if (!worker.exited) worker.child.kill('SIGKILL');
    }
  }

  pids() {
    return this._kept.filter((worker) => !worker.exited).map((worker) => worker.pid);
  }

  _stop(worker) {
    if (!worker.exited) worker.child.send({ method: '__stop__' });
  }
}

module.exports = { WorkerPool };
