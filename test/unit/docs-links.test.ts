import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');

/** Longest the README may grow before its detail belongs in docs/ (issue 11, point 7). */
const README_MAX_LINES = 200;

function markdownFiles(): string[] {
  const docs = join(root, 'docs');
  const pages = existsSync(docs)
    ? readdirSync(docs)
        .filter((name) => name.endsWith('.md'))
        .map((name) => join(docs, name))
    : [];
  return [join(root, 'README.md'), ...pages];
}

/** The lines of a markdown file outside fenced code blocks (``` or ~~~). */
function proseLines(text: string): string[] {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of text.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker !== undefined) {
      if (fence === undefined) fence = marker[0];
      else if (marker[0] === fence) fence = undefined;
      continue;
    }
    if (fence === undefined) lines.push(line);
  }
  return lines;
}

/**
 * GitHub's anchor for a heading: the rendered text, lower-cased, with every character that is
 * not a letter, mark, digit, connector (`_`), `-` or space removed, then spaces turned to `-`.
 *
 * @example githubSlug('TLS: never a silent fallback to plaintext') // 'tls-never-a-silent-fallback-to-plaintext'
 */
function githubSlug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link renders as its text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a markdown file's headings define, with GitHub's `-1`, `-2` for repeats. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = githubSlug(heading);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Link targets in prose (inline code and fenced blocks are not links). */
function linkTargets(text: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(text)) {
    const prose = line.replace(/`[^`]*`/g, '');
    for (const match of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      if (match[1] !== undefined) targets.push(match[1]);
    }
  }
  return targets;
}

/** Broken relative links and anchors across README.md and docs/*.md, as `file: target (why)`. */
function brokenLinks(): string[] {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    const text = readFileSync(file, 'utf8');
    const from = relative(root, file);
    for (const target of linkTargets(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: …: not ours to check
      const [path = '', anchor] = target.split('#', 2);
      const targetFile = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
      const targetPath = relative(root, targetFile);
      if (!existsSync(targetFile)) {
        broken.push(`${from}: ${target} (no such file)`);
        continue;
      }
      if (anchor === undefined || !targetFile.endsWith('.md')) continue;
      if (!anchorsOf(readFileSync(targetFile, 'utf8')).has(anchor)) {
        broken.push(`${from}: ${target} (no heading "#${anchor}" in ${targetPath})`);
      }
    }
  }
  return broken;
}

describe('documentation links', () => {
  it.each([
    ['TLS: never a silent fallback to plaintext', 'tls-never-a-silent-fallback-to-plaintext'],
    ['API keys (`functions/apikey`)', 'api-keys-functionsapikey'],
    ['Operating: `npx rotator`', 'operating-npx-rotator'],
    ['Provider-issued keys: the declaration', 'provider-issued-keys-the-declaration'],
    ['What each step does (provider-issued)', 'what-each-step-does-provider-issued'],
    ['Secrets Manager gateway and API calls', 'secrets-manager-gateway-and-api-calls'],
    ['snake_case and [a link](x.md)', 'snake_case-and-a-link'],
  ])('slugs %j as GitHub does', (heading, slug) => {
    // Prepare / Act / Assess
    expect(githubSlug(heading)).toBe(slug);
  });

  it('numbers repeated headings as GitHub does and ignores headings in code blocks', () => {
    // Prepare
    const text = '# Tests\n\n## Tests\n\n```sh\n# not a heading\n```\n';

    // Act
    const anchors = anchorsOf(text);

    // Assess
    expect([...anchors]).toEqual(['tests', 'tests-1']);
  });

  it('finds no broken relative link or anchor in README.md and docs/*.md', () => {
    // Prepare / Act
    const broken = brokenLinks();

    // Assess
    expect(broken, 'fix each link, or the heading it points at').toEqual([]);
  });

  it('lists every docs page in docs/README.md', () => {
    // Prepare
    const index = linkTargets(readFileSync(join(root, 'docs', 'README.md'), 'utf8'));
    const pages = markdownFiles()
      .map((file) => relative(join(root, 'docs'), file))
      .filter((page) => !page.startsWith('..') && page !== 'README.md');

    // Act
    const unlisted = pages.filter((page) => !index.some((t) => t.split('#')[0] === page));

    // Assess
    expect(unlisted, 'add a line for each page to docs/README.md').toEqual([]);
  });

  it(`keeps README.md under ${README_MAX_LINES} lines, with the test command CI runs`, () => {
    // Prepare
    const readme = readFileSync(join(root, 'README.md'), 'utf8');

    // Act
    const lines = readme.split('\n').length;

    // Assess
    expect(lines, 'move detail into a page under docs/').toBeLessThanOrEqual(README_MAX_LINES);
    expect(readme).toContain('npm ci && npm test'); // .ci/run runs "the README's test command"
  });
});
