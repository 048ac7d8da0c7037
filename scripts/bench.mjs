// `npm run bench [-- <name>…] [-- --flags]`: runs bench/<name>/index.mjs on Node >= 22 for each
// name given (every folder under bench/ when none); other arguments are passed to each bench.
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
for (const name of names.length ? names : all) {
  console.log(`\n=== bench/${name} ===`)
  const r = spawnSync(node22(), [path.join(benchDir, name, 'index.mjs'), ...passThrough], {
    cwd: root,
    env: envWithNode22(),
    stdio: 'inherit',
  })
  if (r.status !== 0) failed = true
}
process.exit(failed ? 1 : 0)
