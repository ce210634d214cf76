/**
 * Finds the fenced code blocks of a Markdown page and says how each is meant
 * to be used, so test/snippets.test.ts can run the ones a reader would paste.
 *
 * The convention for page authors: a block's language tag says what it is.
 * `ts`/`js` blocks are programs and run, as an ES module unless an HTML
 * comment on the line above says otherwise:
 *
 *     <!-- snippet: commonjs -->        run as CommonJS
 *     <!-- snippet: esm commonjs -->    run both ways (no top-level await then)
 *     <!-- snippet: skip <why> -->      shown, never run (the reason is required)
 *
 * Shell sessions, output and diagrams carry a language tag that is never run
 * (NOT_RUN below); an untagged block is an error, so nothing is left
 * unmarked by accident.
 */

/** Languages whose blocks are programs, run by the test. */
export const RUN_LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript']);

/** Languages that are never run: commands for a shell, what a program prints, diagrams, data. */
export const NOT_RUN = new Set(['sh', 'bash', 'console', 'text', 'json', 'jsonc', 'yaml', 'ini']);

export type Flavour = 'esm' | 'commonjs';

export interface Snippet {
  /** The page's path as given. */
  readonly page: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The language tag ('' when there is none). */
  readonly language: string;
  /** The block's text, its fence indentation removed. */
  readonly code: string;
  /** How it runs; empty when it does not. */
  readonly flavours: readonly Flavour[];
  /** Why it does not run (the language, or the skip marker's reason); null when it runs. */
  readonly skipped: string | null;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/;
const MARKER = /^\s*<!--\s*snippet:\s*(.*?)\s*-->\s*$/;

/** Parses a marker's words into flavours or a skip reason; throws on a word it does not know. */
function readMarker(text: string, where: string): { flavours: Flavour[]; skip: string | null } {
  const skip = /^skip\b\s*(.*)$/.exec(text);
  if (skip) {
    if ((skip[1] ?? '') === '') throw new Error(`${where}: "snippet: skip" needs a reason`);
    return { flavours: [], skip: skip[1] as string };
  }
  const flavours: Flavour[] = [];
  for (const word of text.split(/[\s,]+/).filter((w) => w !== '')) {
    if (word !== 'esm' && word !== 'commonjs')
      throw new Error(`${where}: unknown snippet marker word ${JSON.stringify(word)}`);
    flavours.push(word);
  }
  if (flavours.length === 0) throw new Error(`${where}: an empty snippet marker`);
  return { flavours, skip: null };
}

/** Every fenced code block of `markdown` (the text of `page`). */
export function extractSnippets(page: string, markdown: string): Snippet[] {
  const lines = markdown.split(/\r?\n/);
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string);
    if (!open) continue;
    const indent = (open[1] as string).length;
    const fence = open[2] as string;
    const language = (open[3] as string).toLowerCase();
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j] as string;
      if (l.trim().startsWith(fence) && l.trim().replace(/[`~]/g, '') === '') break;
      body.push(l.slice(Math.min(indent, l.length - l.trimStart().length)));
    }
    if (j === lines.length) throw new Error(`${page}:${i + 1}: a code block that is never closed`);
    const where = `${page}:${i + 1}`;
    let previous = i - 1;
    while (previous >= 0 && (lines[previous] as string).trim() === '') previous--;
    const marker = previous >= 0 ? MARKER.exec(lines[previous] as string) : null;
    const read = marker ? readMarker(marker[1] as string, where) : null;
    let flavours: Flavour[] = [];
    let skipped: string | null;
    if (RUN_LANGUAGES.has(language)) {
      skipped = read?.skip ?? null;
      flavours = skipped === null ? (read?.flavours ?? ['esm']) : [];
    } else if (NOT_RUN.has(language)) {
      if (read && read.skip === null)
        throw new Error(`${where}: a ${language} block cannot run as ${read.flavours.join('/')}`);
      skipped = read?.skip ?? `${language} (not a program)`;
    } else {
      throw new Error(
        `${where}: a code block without a known language tag (${JSON.stringify(language)}); ` +
          `tag it ${[...RUN_LANGUAGES][0]} to run it or one of ${[...NOT_RUN].join(', ')}`,
      );
    }
    snippets.push({ page, line: i + 1, language, code: `${body.join('\n')}\n`, flavours, skipped });
    i = j;
  }
  return snippets;
}
