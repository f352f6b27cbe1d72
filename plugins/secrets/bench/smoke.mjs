// Quick manual check: node bench/smoke.mjs [file...]
import { readFileSync } from 'node:fs';
import { load, buildBatch, scan, describe } from './plugin.mjs';
const p = await load();
const d = await describe(p);
console.log('describe:', d.name, d.version, d.rules.length, 'rules');
const files = process.argv.slice(2).map((f) => ({ path: f, data: readFileSync(f) }));
if (files.length) console.log(JSON.stringify(await scan(p, buildBatch(files)), null, 1));
