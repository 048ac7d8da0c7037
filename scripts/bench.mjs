// `npm run bench [-- <name>…] [-- --flags]`: builds the release addon with the `testing` feature,
// then runs bench/<name>/index.mjs on Node >= 22 for each name given (every folder under bench/
// when none); other arguments are passed to each bench.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { envWithNode22, node22 } from './node.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const benchDir = path.join(root, 'bench')
const args = process.argv.slice(2)
const all = existsSync(benchDir)
  ? readdirSync(benchDir).filter((d) => existsSync(path.join(benchDir, d, 'index.mjs'))).sort()
  : []
const names = args.filter((a) => all.includes(a))
const passThrough = args.filter((a) => !all.includes(a))
let failed = false

// The benches measure the release addon and reach exports only the `testing` cargo feature
// compiles (src/binding/testing/): build that first (cargo's no-op when nothing changed).
// `--no-build` runs against the addon already built.
if (!passThrough.includes('--no-build')) {
  const build = spawnSync(
    node22(),
    [path.join(root, 'node_modules/@napi-rs/cli/dist/cli.js'), 'build', '--platform', '--release', '--features', 'testing', '--js', 'binding.cjs', '--dts', 'binding.d.ts'],
    { cwd: root, env: envWithNode22(), stdio: 'inherit' },
  )
  if (build.status !== 0) process.exit(1)
}
const benchArgs = passThrough.filter((a) => a !== '--no-build')
for (const name of names.length ? names : all) {
  console.log(`\n=== bench/${name} ===`)
  const r = spawnSync(node22(), [path.join(benchDir, name, 'index.mjs'), ...benchArgs], {
    cwd: root,
    env: envWithNode22(),
    stdio: 'inherit',
  })
  if (r.status !== 0) failed = true
}
process.exit(failed ? 1 : 0)
