// hypertest: the one test of a run session. It keeps the run open until hypertest asks it to end;
// Playwright then runs the global teardowns and stops the web servers.
'use strict';
const fs = require('fs');
const { test } = require(process.env.HT_SESSION_PLAYWRIGHT_TEST);

test('hypertest run session', async () => {
  test.setTimeout(0);
  fs.writeFileSync(process.env.HT_SESSION_RUNNING, 'running');
  while (!fs.existsSync(process.env.HT_SESSION_STOP)) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});
