// hypertest: the last global setup of a run session. The web servers are up and the user's global
// setups have run: it writes the environment they left in Playwright's main process (what Playwright
// hands to every worker) to a file, says the session is ready, and waits until hypertest asks the
// session to stop; Playwright then goes on to the end of its run: no test (the session's file filter
// matches none), then the teardowns and the web servers' stop.
//
// Playwright up to 1.48 takes one globalSetup file: then this is it, and it first runs the user's
// (at most one there) through Playwright's own hook loader, and returns what that returned, so
// Playwright runs it as the setup's teardown, as it would have.
'use strict';
const fs = require('fs');

const POLL_MS = 100;

module.exports = async (config) => {
  const settings = JSON.parse(fs.readFileSync(process.env.HT_SESSION_SETTINGS, 'utf8'));
  const helpers = require(settings.userConfigModule);
  let returned;
  const { user, playwright, abs, list } = await helpers.withUserConfig(settings, (loaded) => loaded);
  if (settings.withGlobalHooks && !helpers.atLeast(playwright().version, 1, 49)) {
    for (const file of list(user.globalSetup).map(abs)) {
      const hook = await helpers.loadGlobalHook(playwright(), config, file);
      returned = await hook(config);
    }
  }
  fs.writeFileSync(process.env.HT_SESSION_ENV_OUTPUT, JSON.stringify(process.env));
  fs.writeFileSync(process.env.HT_SESSION_READY, 'ready');
  while (!fs.existsSync(process.env.HT_SESSION_STOP)) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return returned;
};
