// hypertest discovery reporter: used with `playwright test --list`. It writes one JSON document
// describing every test (project, file, location, title path, tags, serial group) to the file named
// by HT_LIST_OUTPUT. Loaded by Playwright from an absolute path. Its keys are listing.py's types,
// exactly: what it writes is what discovery reads.
'use strict';
const fs = require('fs');
const path = require('path');

function serialRoot(test) {
  // The outermost describe whose tests must run together in one worker, in order.
  let found = null;
  for (let suite = test.parent; suite; suite = suite.parent) {
    if (suite._parallelMode === 'serial') found = suite;
  }
  return found;
}

function internalConfig(config) {
  // Playwright keeps every webServer entry and global hook only on its internal config (checked on
  // 1.65); older or newer versions without it fall back to the public, first-entry-only fields.
  const symbol = Object.getOwnPropertySymbols(config).find((s) => s.description === 'configInternalSymbol');
  return symbol ? config[symbol] : null;
}

function projectWorkers(config, project) {
  // A project's own `workers` limit (Playwright 1.52+) is kept only on its internal project, resolved
  // ('50%' of this machine's CPUs becomes a number); null: no limit of its own.
  const internal = internalConfig(config);
  const found = internal && Array.isArray(internal.projects) ? internal.projects.find((p) => p.project === project) : null;
  return found && typeof found.workers === 'number' && found.workers > 0 ? found.workers : null;
}

function runLevel(config) {
  const internal = internalConfig(config);
  const servers = internal && Array.isArray(internal.webServers) ? internal.webServers
    : (config.webServer ? [config.webServer] : []);
  const list = (value) => (Array.isArray(value) ? value : (value ? [value] : []));
  return {
    webServers: servers.map((server) => ({
      command: String(server.command || ''),
      url: server.url ? String(server.url) : null,
      port: typeof server.port === 'number' ? server.port : null,
    })),
    globalSetups: internal && Array.isArray(internal.globalSetups) ? internal.globalSetups : list(config.globalSetup),
    globalTeardowns: internal && Array.isArray(internal.globalTeardowns) ? internal.globalTeardowns : list(config.globalTeardown),
    maxFailures: typeof config.maxFailures === 'number' && config.maxFailures > 0 ? config.maxFailures : 0,
  };
}

function titlesBelowFile(test) {
  // titlePath() is ['', project, file, ...describes, title]; keep describes and title.
  const all = test.titlePath();
  return all.slice(3);
}

class HypertestListReporter {
  constructor() {
    this.config = null;
    this.errors = [];
  }

  printsToStdio() {
    return false;
  }

  onBegin(config, suite) {
    this.config = config;
    this.suite = suite;
  }

  onError(error) {
    this.errors.push({
      message: error.message || String(error.value || ''),
      location: error.location || null,
    });
  }

  onEnd() {
    const out = process.env.HT_LIST_OUTPUT;
    if (!out) throw new Error('HT_LIST_OUTPUT is not set');
    const rootDir = this.config ? this.config.rootDir : '';
    const tests = [];
    for (const projectSuite of this.suite ? this.suite.suites : []) {
      const project = projectSuite.project();
      for (const test of projectSuite.allTests()) {
        const serial = serialRoot(test);
        tests.push({
          project: project ? project.name : '',
          file: path.relative(rootDir, test.location.file).split(path.sep).join('/'),
          line: test.location.line,
          column: test.location.column,
          titlePath: titlesBelowFile(test),
          tags: test.tags || [],
          expectedStatus: test.expectedStatus,
          repeatEachIndex: test.repeatEachIndex || 0,
          serialGroup: serial ? JSON.stringify([...serial.titlePath().slice(2), serial.location ? serial.location.line : 0]) : null,
        });
      }
    }
    const doc = {
      playwrightVersion: this.config ? this.config.version : '',
      rootDir,
      configFile: this.config ? this.config.configFile || null : null,
      projects: this.config ? this.config.projects.map((p) => ({
        name: p.name,
        outputDir: p.outputDir,
        dependencies: p.dependencies || [],
        teardown: p.teardown || null,
        repeatEach: p.repeatEach || 1,
        retries: p.retries,
        timeout: p.timeout,
        browserName: (p.use && (p.use.browserName || p.use.defaultBrowserType)) || 'chromium',
        executablePath: (p.use && p.use.launchOptions && p.use.launchOptions.executablePath) || null,
        workers: projectWorkers(this.config, p),
      })) : [],
      runLevel: this.config ? runLevel(this.config) : { webServers: [], globalSetups: [], globalTeardowns: [], maxFailures: 0 },
      tests,
      errors: this.errors,
    };
    fs.writeFileSync(out, JSON.stringify(doc));
  }
}

module.exports = HypertestListReporter;
