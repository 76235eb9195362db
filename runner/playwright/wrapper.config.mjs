// hypertest: the wrapper config as an ES module, for one case only: a Playwright before 1.43 and a
// user's config that is an ES module. Those releases register their ESM loader (which transpiles
// TypeScript ES modules: a .mts config, .ts files in a "type": "module" package) only when the config
// file they are given is itself an ES module, by restarting with the loader; given the CommonJS wrapper,
// they would import the user's TypeScript ES modules without it and fail. Same settings, same code: it
// gives what wrapper.config.cjs gives (runner/wrapper_config.py wrapper_config_for picks the file).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export default await require('./wrapper.config.cjs');
