// hypertest: the run session's config as an ES module, for a Playwright before 1.43 and a user's config
// that is an ES module: those releases register their ESM loader only when the config file they are
// given is an ES module (see ../wrapper.config.mjs). It gives what session.config.cjs gives.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export default await require('./session.config.cjs');
