// GitHub Action entry: turns the action's inputs (INPUT_* variables) into a `wasmci scan` command line and runs the
// bundled runner in this process (the bundle calls process.exit with wasmci's exit code).
// The bundle is runner/dist/wasmci.cjs, committed on release tags; WASMCI_BUNDLE points elsewhere (tests, dev).
const path = require('node:path');
const fs = require('node:fs');

const input = (name) => (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

const args = ['scan', input('path') || '.', '--fail-on', input('fail-on') || 'low'];
if (input('plugin')) args.push('--plugin', input('plugin'));
for (const glob of list(input('exclude'))) args.push('--exclude', glob);
let mode = input('scan-mode') || 'auto';
if (!['auto', 'files', 'diff', 'history'].includes(mode)) {
  process.stderr.write(`wasmci: error: scan-mode must be auto, files, diff or history, not "${mode}"\n`);
  process.exit(2);
}
if (mode === 'auto') mode = input('base') ? 'diff' : 'files';
if (mode === 'diff') args.push(input('base') ? `--diff=${input('base')}` : '--diff');
if (mode === 'history') args.push('--history');
// Live verification sends found secrets to their vendors: only the workflow (an input) turns it on.
const verify = input('verify') || 'false';
if (!['true', 'false', 'only'].includes(verify)) {
  process.stderr.write(`wasmci: error: verify must be true, false or only, not "${verify}"\n`);
  process.exit(2);
}
if (verify !== 'false') args.push('--verify');
if (verify === 'only') args.push('--only-verified');
const sarif = input('sarif-file');
if (sarif) args.push('--report', `sarif=${sarif}`);
args.push(...input('extra-args').split(/\s+/).filter(Boolean));

function output(name, value) {
  if (process.env.GITHUB_OUTPUT) fs.appendFileSync(process.env.GITHUB_OUTPUT, `${name}=${value}\n`);
}
const exit = process.exit;
process.exit = (code) => {
  output('exit-code', String(code ?? 0));
  if (sarif) output('sarif-file', sarif);
  exit(code);
};
process.argv = [process.argv[0], 'wasmci', ...args];
require(process.env.WASMCI_BUNDLE || path.join(__dirname, '..', 'runner', 'dist', 'wasmci.cjs'));
