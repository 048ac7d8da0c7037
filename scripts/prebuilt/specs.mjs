// The repo's ava specs, run against an installed chat-headstart: the specs import the package by
// name, so the same files that test the repo (which imports itself) test the install. A spec that
// needs more of the repo than the package (the demo, the examples, the repo's own files) is
// recognised by a runtime import or URL of `../` and stays repo-only.
import fs from 'node:fs'
import path from 'node:path'
import { avaCounts } from '../ava-counts.mjs'
import { npmInstall, root, run } from './workspace.mjs'

const testDir = path.join(root, '__test__')

/** A runtime (not type-only) reach outside __test__/: `import … from '../…'`, `import('../…')`, `new URL('../…')`. */
const REACHES_REPO = [/^import\s+(?!type\s)[^;'"]*?from\s+'\.\.\//m, /(?<!typeof\s)import\(\s*'\.\.\//, /new URL\(\s*'\.\.\//]

const reachesRepo = (file) => {
  const source = fs.readFileSync(path.join(testDir, file), 'utf8')
  return REACHES_REPO.some((re) => re.test(source))
}

/** The specs that test only the package, and the repo-only ones, by file name. */
export function packageSpecs() {
  const files = fs.readdirSync(testDir).filter((f) => f.endsWith('.ts'))
  const helpers = files.filter((f) => !f.endsWith('.spec.ts'))
  const usable = new Set(helpers.filter((f) => !reachesRepo(f)))
  const imports = (file) => [...fs.readFileSync(path.join(testDir, file), 'utf8').matchAll(/from '\.\/([\w.-]+\.ts)'/g)].map((m) => m[1])
  const specs = []
  const repoOnly = []
  for (const spec of files.filter((f) => f.endsWith('.spec.ts'))) {
    const ok = !reachesRepo(spec) && imports(spec).every((h) => usable.has(h))
    ;(ok ? specs : repoOnly).push(spec)
  }
  return { specs, repoOnly, helpers: [...usable] }
}

/**
 * Node's own TypeScript support instead of the repo's @oxc-node/core loader: the registry has no
 * linux-arm64 (nor wasm) build of its binding. Transform, not only strip: a spec may use parameter
 * properties.
 */
const NODE_TYPESCRIPT = ['--experimental-transform-types', '--disable-warning=ExperimentalWarning']

/** npm package names a set of source files import (bare specifiers, builtins left out). */
function importedPackages(files) {
  const names = new Set()
  for (const file of files) {
    const source = fs.readFileSync(path.join(testDir, file), 'utf8')
    for (const m of source.matchAll(/(?:from\s+|import\(\s*)'([^'.][^']*)'/g)) {
      const spec = m[1]
      if (spec.startsWith('node:')) continue
      names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0])
    }
  }
  return names
}

/**
 * A fresh folder with the package specs and what they import: the given tarballs (the package and
 * one platform package) and, at the repo's devDependency versions, ava and every package the
 * specs import, with extra npm `flags` (another platform's optional dependencies:
 * `--cpu=arm64`). Resolves `{ dir, specs, repoOnly }`.
 */
export async function prepareSpecs(dir, tarballs, { env, log, flags = [] }) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const { specs, repoOnly, helpers } = packageSpecs()
  for (const file of [...specs, ...helpers]) fs.copyFileSync(path.join(testDir, file), path.join(dir, file))
  const wanted = new Set(['ava', ...importedPackages([...specs, ...helpers])])
  wanted.delete(pkg.name)
  const missing = [...wanted].filter((name) => !pkg.devDependencies[name])
  if (missing.length > 0) throw new Error(`the specs import ${missing.join(', ')}, which are not devDependencies`)
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ name: 'chat-headstart-prebuilt-specs', private: true, type: 'module', ava: { ...pkg.ava, files: ['*.spec.ts'], nodeArguments: NODE_TYPESCRIPT } }, null, 2)}\n`,
  )
  await npmInstall(dir, [...tarballs, ...[...wanted].map((name) => `${name}@${pkg.devDependencies[name]}`)], { env, log, flags })
  return { dir, specs, repoOnly }
}

/** Runs ava in `dir` with `node` (argv prefix, e.g. a qemu command line); resolves counts. */
export async function runSpecs(dir, node, files, { env, log, timeoutMs = 45 * 60_000 }) {
  const result = await run(node[0], [...node.slice(1), path.join(dir, 'node_modules/ava/entrypoints/cli.js'), ...files], { cwd: dir, env, log, timeoutMs })
  const counts = avaCounts(result.output)
  return { ...counts, ok: result.code === 0 && counts.passed > 0 && counts.failed === 0, ms: result.ms, output: result.output }
}
