// hypertest runner reporter: appends one JSON line per finished test attempt to the file named by
// HT_RESULTS_OUTPUT, synchronously, so that whatever finished survives a stopped or killed run.
'use strict';
const fs = require('fs');
const path = require('path');

const MAX_MESSAGE = 16 * 1024;
const EXTENSIONS = { 'image/png': '.png', 'image/jpeg': '.jpg', 'application/json': '.json', 'text/plain': '.txt',
  'text/html': '.html', 'video/webm': '.webm', 'application/zip': '.zip' };

function clip(text) {
  if (typeof text !== 'string') return '';
  return text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE) + '\n… (truncated)' : text;
}

function describeError(error) {
  return {
    message: clip(error.message || (error.value !== undefined ? String(error.value) : '')),
    stack: clip(error.stack || ''),
    location: error.location ? { file: error.location.file, line: error.location.line, column: error.location.column } : null,
  };
}

class HypertestResultReporter {
  constructor() {
    this.out = process.env.HT_RESULTS_OUTPUT;
    if (!this.out) throw new Error('HT_RESULTS_OUTPUT is not set');
    this.fd = fs.openSync(this.out, 'a');
    this.rootDir = '';
    this.bodies = 0;
  }

  // An attachment made from a body (testInfo.attach(name, { body })) has no file: it gets one beside the results.
  attachmentFiles(result) {
    const files = [];
    for (const attachment of result.attachments || []) {
      let file = attachment.path;
      if (!file && attachment.body) {
        const folder = path.join(path.dirname(this.out), 'attachments');
        fs.mkdirSync(folder, { recursive: true });
        file = path.join(folder, `${++this.bodies}${EXTENSIONS[attachment.contentType] || '.bin'}`);
        fs.writeFileSync(file, attachment.body);
      }
      if (file) files.push({ name: attachment.name, path: file, contentType: attachment.contentType });
    }
    return files;
  }

  printsToStdio() {
    return false;
  }

  write(record) {
    fs.writeSync(this.fd, JSON.stringify(record) + '\n');
  }

  onBegin(config, suite) {
    this.rootDir = config.rootDir;
    this.write({ type: 'begin', total: suite.allTests().length });
    // In a warm host that may keep workers (runner/playwright/worker_pool.cjs), a kept worker serves only
    // tests of its worker hash: Playwright's own, from its test cases (a private field; absent, no reuse).
    const hashes = globalThis[Symbol.for('hypertest.workerHashes')];
    if (hashes instanceof Map) {
      for (const test of suite.allTests()) if (typeof test._workerHash === 'string') hashes.set(test.id, test._workerHash);
    }
  }

  onTestEnd(test, result) {
    const titles = test.titlePath();
    this.write({
      type: 'testEnd',
      project: titles[1] || '',
      file: path.relative(this.rootDir, test.location.file).split(path.sep).join('/'),
      line: test.location.line,
      column: test.location.column,
      titlePath: titles.slice(3),
      repeatEachIndex: test.repeatEachIndex || 0,
      retry: result.retry,
      status: result.status,
      expectedStatus: test.expectedStatus,
      outcome: test.outcome(),
      willRetry: result.status !== 'skipped' && result.status !== test.expectedStatus && result.retry < test.retries,
      duration: result.duration,
      startTime: result.startTime ? result.startTime.toISOString() : null,
      errors: (result.errors || []).map(describeError),
      annotations: (test.annotations || []).map((a) => ({ type: a.type, description: a.description || '' })),
      attachments: this.attachmentFiles(result),
    });
  }

  onError(error) {
    this.write({ type: 'error', error: describeError(error) });
  }

  onEnd(result) {
    this.write({ type: 'end', status: result.status, duration: result.duration });
  }

  async onExit() {
    fs.closeSync(this.fd);
  }
}

module.exports = HypertestResultReporter;
