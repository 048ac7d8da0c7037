// Citations in the repo's own files stay true: a comment that names a document names one that is
// in the repo (docs/protocol.md, docs/architecture.md, a README), and a `§N.M` after it is a
// heading of that document; nothing points at an issue tracker entry of this project, a numbered
// "improvement" or an absolute path on a developer's machine. Scans every tracked text file.
import test from 'ava'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))

const TEXT_FILE = /\.(?:m?[jt]sx?|c[jt]s|rs|md|sh|ya?ml|toml|json)$|^\.ci\/run$/
// This file is left out: its fixtures are the very citations it rejects.
const SKIPPED = /(?:^|\/)(?:node_modules|target)\/|\.lock$|package-lock\.json$|^__test__\/docs\.spec\.ts$/
const HASH_COMMENTS = /\.(?:sh|ya?ml|toml)$|^\.ci\/run$/

/** The repo's tracked text files (plus new, not yet ignored ones), relative to the root. */
function repoFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
  return listed
    .split('\n')
    .filter((f) => f !== '' && TEXT_FILE.test(f) && !SKIPPED.test(f) && fs.existsSync(path.join(root, f)))
}

const withoutUrls = (line: string) => line.replace(/\bhttps?:\/\/[^\s)\]>`'"]+/g, '')

/** The comment text of a line ('' when it has none); a Markdown file is all text. */
function commentOf(file: string, line: string): string {
  if (file.endsWith('.md')) return line
  if (HASH_COMMENTS.test(file)) {
    const hash = line.indexOf('#')
    return hash === -1 ? '' : line.slice(hash + 1)
  }
  const trimmed = line.trimStart()
  if (trimmed.startsWith('*') || trimmed.startsWith('/*')) return trimmed
  const slashes = line.indexOf('//')
  return slashes === -1 ? '' : line.slice(slashes + 2)
}

const headingCache = new Map<string, Set<string>>()

/** The section numbers (`2`, `2.1`, …) of a Markdown file's headings. */
function sectionsOf(file: string): Set<string> {
  let sections = headingCache.get(file)
  if (!sections) {
    sections = new Set()
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s/gm)) sections.add(m[1])
    headingCache.set(file, sections)
  }
  return sections
}

const DOCUMENT = /[\w./-]*[\w-]\.md\b/g
/** A cited document, then the `§` references that follow it (`§2.7, §6`, `§5.1–5.2`, `§10.6a`). */
const CITATION = /([\w./-]*[\w-]\.md)`?((?:\s*,?\s*§\s?\d+(?:\.\d+)*[a-z]?(?:[–-]\d+(?:\.\d+)*)?)+)/g

/** What is wrong with the document citations of one line of `file` (empty when nothing). */
function citationProblems(file: string, line: string, exists = (p: string) => fs.existsSync(path.join(root, p))): string[] {
  const text = commentOf(file, withoutUrls(line))
  const problems: string[] = []
  const resolve = (doc: string) => [path.join(path.dirname(file), doc), doc].map((p) => path.normalize(p)).find(exists)
  for (const [doc] of text.matchAll(DOCUMENT)) {
    if (!resolve(doc)) problems.push(`cites ${doc}, which is not in the repo`)
  }
  for (const [, doc, refs] of text.matchAll(CITATION)) {
    const found = resolve(doc)
    if (!found) continue
    const sections = sectionsOf(path.join(root, found))
    for (const [, number] of refs.matchAll(/(\d+(?:\.\d+)*)[a-z]?/g)) {
      if (!sections.has(number)) problems.push(`cites ${doc} §${number}, which has no such heading`)
    }
  }
  return problems
}

const FORBIDDEN: Array<[RegExp, string]> = [
  [/\bissues?\s*#?\d+/i, 'an issue number'],
  [/(?:^|[\s(])#\d+\b/, 'a bare #N reference'],
  [/\bimprovements?\s+\d/i, 'a numbered "improvement"'],
  [/(?<![\w.~-])\/(?:work|home|Users)\//, 'an absolute path on a developer machine'],
]

/** What a line says that no file of the repo may say (code, strings and comments alike). */
function forbiddenReferences(line: string): string[] {
  const text = withoutUrls(line)
  return FORBIDDEN.filter(([re]) => re.test(text)).map(([, what]) => what)
}

function scan(check: (file: string, line: string) => string[]): string[] {
  const found: string[] = []
  for (const file of repoFiles()) {
    fs.readFileSync(path.join(root, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const problem of check(file, line)) found.push(`${file}:${i + 1}: ${problem}: ${line.trim().slice(0, 140)}`)
      })
  }
  return found
}

test('the scanner recognises what it must reject and lets the rest pass', (t) => {
  const inRepo = (p: string) => ['docs/protocol.md', 'docs/architecture.md', 'README.md'].includes(p)
  const problems = (file: string, line: string) => citationProblems(file, line, inRepo)
  t.deepEqual(problems('lib/x.js', '// see docs/protocol.md §2.1 and §6'), [])
  t.deepEqual(problems('lib/x.js', '// (docs/protocol.md §2.7, §6; docs/architecture.md §4.1)'), [])
  t.deepEqual(problems('src/x.rs', '//! the rules of `docs/protocol.md` §5.1–5.2, §10.6a'), [])
  t.deepEqual(problems('docs/architecture.md', 'see [the plane](protocol.md#11-the-local-session-plane)'), [])
  t.deepEqual(problems('lib/x.js', "const f = 'package/NOTES.md' // a string, not a citation"), [])
  t.deepEqual(problems('lib/x.js', '// https://github.com/o/r/blob/main/NOTES.md'), [])
  t.deepEqual(problems('lib/x.js', '// protocol.md §2.1'), ['cites protocol.md, which is not in the repo'])
  t.deepEqual(problems('src/x.rs', '/// (napi.md §2.5)'), ['cites napi.md, which is not in the repo'])
  t.deepEqual(problems('.ci/run', '# see docs/adapters.md'), ['cites docs/adapters.md, which is not in the repo'])
  t.deepEqual(problems('lib/x.js', ' * docs/protocol.md §99.1'), ['cites docs/protocol.md §99.1, which has no such heading'])

  t.deepEqual(forbiddenReferences('// validated (issue 4)'), ['an issue number'])
  t.deepEqual(forbiddenReferences("test('improvement 7: resumes', …)"), ['a numbered "improvement"'])
  t.deepEqual(forbiddenReferences('// fixed in #12'), ['a bare #N reference'])
  t.deepEqual(forbiddenReferences('// protocol: /work/shared/docs/adapters.md'), ['an absolute path on a developer machine'])
  t.deepEqual(forbiddenReferences("const home = '/home/me/x'"), ['an absolute path on a developer machine'])
  t.deepEqual(forbiddenReferences('// works around nodejs/undici#4089'), [])
  t.deepEqual(forbiddenReferences('// see https://github.com/o/r/issues/12'), [])
  t.deepEqual(forbiddenReferences("const color = '#123'; x.#private"), [])
})

test('every document a comment cites is in the repo, and every cited § is one of its headings', (t) => {
  t.deepEqual(scan(citationProblems), [])
})

test('no file points at an issue, a numbered "improvement" or an absolute path on a developer machine', (t) => {
  t.deepEqual(
    scan((_file, line) => forbiddenReferences(line)),
    [],
  )
})
