import { installInterruptHandlers } from './interrupt.js';
import { prestartWorker } from './plugin/host.js';

installInterruptHandlers();

// Commands that run a plugin get its worker thread booting now, while the rest of the CLI loads (imported below,
// after this, for that reason). Options before the command defeat the guess, which only costs the head start.
const command = process.argv.slice(2).find((a) => !a.startsWith('-'));
if (command === 'scan' || command === 'call' || command === 'run') prestartWorker();

// Worker threads (plugin instances, timers) must not keep a finished command alive: exit explicitly.
void import('./cli/main.js').then(({ main }) => main().then((code) => process.exit(code)));
