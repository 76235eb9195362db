// hypertest: the last global setup of a run session. The web servers are up and the user's global
// setups have run: it writes the environment they left in Playwright's main process (what Playwright
// hands to every worker) to a file, then says the session is ready.
'use strict';
const fs = require('fs');

module.exports = async () => {
  fs.writeFileSync(process.env.HT_SESSION_ENV_OUTPUT, JSON.stringify(process.env));
  fs.writeFileSync(process.env.HT_SESSION_READY, 'ready');
};
