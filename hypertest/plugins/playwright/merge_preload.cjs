// Loaded with `node -r` before the project's Playwright `cli.js merge-reports`, started while the run's last
// units still run (hypertest/plugins/playwright/prepared_merge.py). It loads the Playwright command modules
// now, then waits, using no CPU, until hypertest writes a line on stdin: the blobs are in place, the merge
// goes on with the modules already loaded. Should stdin close without a line (no report after all, or
// hypertest ended), the process exits and merges nothing.
//
// Nothing here depends on a Playwright release: `cli.js` requires the same file later and finds it loaded;
// a release whose command modules are elsewhere loads them itself after the wait, as without this file.
'use strict';

const fs = require('fs');
const path = require('path');

function loadCommandModules() {
  try {
    const manifest = require.resolve('playwright/package.json', { paths: [path.dirname(process.argv[1] || '.')] });
    const program = path.join(path.dirname(manifest), 'lib', 'program.js');
    if (fs.existsSync(program))
      require(program);
  } catch {
    // not found from here: cli.js loads what it needs after the wait
  }
}

function waitForGo() {
  const buffer = Buffer.alloc(16);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let read;
    try {
      read = fs.readSync(0, buffer, 0, buffer.length, null);
    } catch (error) {
      if (error.code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 20);
        continue;
      }
      read = 0;
    }
    if (read === 0)
      process.exit(0);
    if (buffer.subarray(0, read).includes(10))
      return;
  }
}

loadCommandModules();
waitForGo();
