import { main } from './cli/main.js';
import { installInterruptHandlers } from './interrupt.js';

installInterruptHandlers();

// Worker threads (plugin instances, timers) must not keep a finished command alive: exit explicitly.
main().then((code) => process.exit(code));
