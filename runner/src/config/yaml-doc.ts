/**
 * Parsing a config file into a YAML document whose nodes can be reported by file:line:col. Anchors and aliases
 * are refused: a config has no need for them, and refusing them is what makes an alias bomb harmless.
 */
import { type Document, LineCounter, type Node, parseDocument, visit } from 'yaml';
import { UsageError } from '../errors.js';

export class At {
  constructor(
    readonly file: string,
    readonly lc: LineCounter,
  ) {}
  where(node: unknown): string {
    const off = (node as Node | null | undefined)?.range?.[0];
    if (off === undefined) return this.file;
    const { line, col } = this.lc.linePos(off);
    return `${this.file}:${line}:${col}`;
  }
  error(node: unknown, message: string, hint?: string): UsageError {
    return new UsageError(`${this.where(node)}: ${message}`, hint);
  }
}

export function parseYamlDocument(text: string, file: string): { doc: Document.Parsed; at: At } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = new At(file, lc);
  const first = doc.errors[0];
  if (first) {
    const { line, col } = lc.linePos(first.pos[0]);
    throw new UsageError(`${file}:${line}:${col}: invalid YAML: ${first.message.split('\n')[0]}`);
  }
  visit(doc, {
    Alias(_key, node) {
      throw at.error(node, `YAML aliases (*${node.source}) are not supported in wasmci config`, 'write the value out');
    },
  });
  return { doc, at };
}
