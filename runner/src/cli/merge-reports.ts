/** `wasmci merge-reports OUT IN...`: one JSON report from the reports of a sharded scan (GitLab `parallel:`). */
import path from 'node:path';
import { type Command, Option } from 'commander';
import { findCheckout } from '../core/checkout.js';
import { FAIL_ON, type FailOn } from '../core/model.js';
import { ExitCode } from '../errors.js';
import { renderReport, reportFormats, writeReport } from '../report/index.js';
import { loadJsonReport, mergeResults } from '../scan/merge.js';
import { failing } from '../scan/workflow.js';
import { writeStdout } from './io.js';

export function register(program: Command): void {
  program
    .command('merge-reports')
    .description('combine the JSON reports of a sharded scan into one report')
    .argument('<out>', 'the merged report to write')
    .argument('<inputs...>', 'JSON reports written with --report json=FILE')
    .addOption(new Option('--output-format <format>', 'format of OUT').choices(reportFormats()).default('json'))
    .addOption(new Option('--format <format>', 'also print a summary to stdout').choices(['text', 'json']))
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 on merged findings at or above this severity').choices([...FAIL_ON]),
    )
    .action(
      async (out: string, inputs: string[], flags: { outputFormat: string; format?: string; failOn?: FailOn }) => {
        const loaded = [];
        for (const f of inputs) loaded.push(await loadJsonReport(path.resolve(f)));
        const { result, redacted } = mergeResults(loaded);
        const failOn = flags.failOn ?? result.failOn ?? 'none';
        result.failOn = failOn;
        // The summary first: a report that cannot be written must not hide it.
        if (flags.format) await writeStdout(renderReport(flags.format, result, { redact: redacted }));
        const file = out === '-' ? out : path.resolve(out);
        const checkout = findCheckout(process.env, process.cwd());
        await writeReport(flags.outputFormat, file, result, { redact: redacted }, { checkout, toStdout: writeStdout });
        if (failing(result.findings, failOn).length) process.exitCode = ExitCode.findings;
      },
    );
}
