import { configOrExit, fatal } from '../boot.js';
import { backup } from './backup.js';

/** `npm run backup [-- --out DIR]`: database + files into one timestamped folder. */
const config = configOrExit();
const i = process.argv.indexOf('--out');
const out = i > 0 ? process.argv[i + 1] : undefined;
backup(config, out)
  .then((r) =>
    process.stdout.write(`backup written to ${r.dir} (${r.blobs} files, ${r.bytes} bytes)\n`),
  )
  .catch(fatal);
