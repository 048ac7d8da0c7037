// `npm run bench [-- <name>...]`: builds the release addon, then runs bench/<name>/index.mjs on
// Node >= 22 for each named bench, or for every bench folder when none is named.
// `--no-build` skips the release build (when binding.cjs + the .node are already release).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { envWithNode22, node22 } from './node.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const env = envWithNode22()
const args = process.argv.slice(2)
const names = args.filter((a) => !a.startsWith('--'))
const benchDir = path.join(root, 'bench')

const all = existsSync(benchDir)
  ? readdirSync(benchDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(benchDir, d.name, 'index.mjs')))
      .map((d) => d.name)
      .sort()
  : []
const selected = names.length > 0 ? names : all
const unknown = selected.filter((n) => !all.includes(n))
if (unknown.length > 0) {
  console.error(`unknown bench: ${unknown.join(', ')} (available: ${all.join(', ') || 'none'})`)
  process.exit(2)
}

function run(cmd, cmdArgs) {
  console.log(`\n$ ${path.basename(cmd)} ${cmdArgs.join(' ')}`)
  const result = spawnSync(cmd, cmdArgs, { cwd: root, env, stdio: 'inherit' })
  return result.status ?? 1
}

if (!args.includes('--no-build')) {
  // Benchmarks measure the release build (tests use the debug one).
  const cli = path.join(root, 'node_modules/@napi-rs/cli/dist/cli.js')
  const code = run(node22(), [cli, 'build', '--platform', '--release', '--js', 'binding.cjs', '--dts', 'binding.d.ts'])
  if (code !== 0) process.exit(code)
}

let failed = 0
for (const name of selected) {
  if (run(node22(), ['--expose-gc', path.join(benchDir, name, 'index.mjs')]) !== 0) failed += 1
}
process.exit(failed > 0 ? 1 : 0)
