import * as path from 'path';
import { pathToFileURL } from 'url';

/** The demo app's address: a static page shipped next to the tests. */
export const appUrl = pathToFileURL(path.join(__dirname, '..', 'app', 'index.html')).href;
