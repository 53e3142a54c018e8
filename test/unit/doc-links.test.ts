import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Every relative link in the README and the guides names a file in git: a fresh clone has no
 * untracked file (bench results are ignored unless added with -f), so a link to one is broken there.
 * Links in code blocks are examples, not links.
 */

const ROOT = path.resolve(__dirname, '../..');

/** The files in git, or null in a copy without git (an unpacked archive). */
function filesInGit(): Set<string> | null {
  try {
    const listed = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
    return new Set(
      listed
        .toString()
        .split('\0')
        .filter((file) => file !== ''),
    );
  } catch {
    return null;
  }
}

const tracked = filesInGit();
/** Whether `file` (relative to the root) is in git, or a folder of files in git; on disk when there is no git. */
const exists = (file: string): boolean =>
  tracked === null
    ? existsSync(path.join(ROOT, file))
    : tracked.has(file) || [...tracked].some((name) => name.startsWith(`${file}/`));

const documents = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The relative targets of a Markdown text's inline links, images and reference definitions, outside code blocks. */
function relativeTargets(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  const inline = [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1] as string);
  const references = [...prose.matchAll(/^\s*\[[^\]]+\]:\s+(\S+)/gm)].map((match) => match[1] as string);
  return [...inline, ...references]
    .filter((target) => !/^([a-z]+:|#)/i.test(target))
    .map((target) => target.replace(/#.*$/, ''))
    .map((target) => {
      try {
        return decodeURIComponent(target);
      } catch {
        return target;
      }
    });
}

describe('links in the documentation', () => {
  it('finds the documents and their links', () => {
    expect(documents).toContain('docs/performance.md');
    expect(relativeTargets(readFileSync(path.join(ROOT, 'docs/performance.md'), 'utf8')).length).toBeGreaterThan(5);
  });

  it.each(documents)('%s links only to files in git', (document) => {
    const broken = relativeTargets(readFileSync(path.join(ROOT, document), 'utf8')).filter((target) => {
      const file = path.posix.normalize(path.posix.join(path.posix.dirname(document), target)).replace(/\/$/, '');
      return !exists(file);
    });
    expect(broken).toEqual([]);
  });
});
