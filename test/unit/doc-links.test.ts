import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Every relative link in the README and the guides names a file in git: a fresh clone has no
 * untracked file (bench results are ignored unless added with -f), so a link to one is broken there.
 */

const ROOT = path.resolve(__dirname, '../..');
const tracked = new Set(
  execFileSync('git', ['ls-files', '-z'], { cwd: ROOT })
    .toString()
    .split('\0')
    .filter((file) => file !== ''),
);
const directories = new Set(
  [...tracked].flatMap((file) =>
    path
      .dirname(file)
      .split('/')
      .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
  ),
);
const documents = [...tracked].filter((file) => file === 'README.md' || /^docs\/.*\.md$/.test(file));

/** The relative targets of a Markdown text's inline links, images and reference definitions. */
function relativeTargets(markdown: string): string[] {
  const inline = [...markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1] as string);
  const references = [...markdown.matchAll(/^\s*\[[^\]]+\]:\s+(\S+)/gm)].map((match) => match[1] as string);
  return [...inline, ...references]
    .filter((target) => !/^([a-z]+:|#)/i.test(target))
    .map((target) => decodeURIComponent(target.replace(/#.*$/, '')));
}

describe('links in the documentation', () => {
  it('finds the documents', () => {
    expect(documents).toContain('README.md');
    expect(documents).toContain('docs/performance.md');
  });

  it.each(documents)('%s links only to files in git', (document) => {
    const broken = relativeTargets(readFileSync(path.join(ROOT, document), 'utf8')).filter((target) => {
      const file = path.posix.normalize(path.posix.join(path.posix.dirname(document), target)).replace(/\/$/, '');
      return !tracked.has(file) && !directories.has(file);
    });
    expect(broken).toEqual([]);
  });
});
