// Inside this repository: makes `chat-headstart` resolvable from this example without npm install,
// as a small package directory in node_modules that re-exports the repository's build. (A symlink,
// which is what `npm install file:../..` creates, resolves to a path outside node_modules, and
// Turbopack then bundles the package instead of honouring serverExternalPackages for its addon.)
// Outside the repository just `npm install chat-headstart`.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const dir = path.join(here, 'node_modules/chat-headstart')
const entry = path.relative(dir, path.resolve(here, '../../index.js')).split(path.sep).join('/')

fs.rmSync(dir, { recursive: true, force: true })
fs.mkdirSync(dir, { recursive: true })
fs.writeFileSync(
  path.join(dir, 'package.json'),
  `${JSON.stringify({ name: 'chat-headstart', private: true, type: 'module', exports: { '.': { types: './index.d.ts', default: './index.js' } } }, null, 2)}\n`,
)
fs.writeFileSync(path.join(dir, 'index.js'), `export * from '${entry}'\n`)
fs.writeFileSync(path.join(dir, 'index.d.ts'), `export * from '${entry}'\n`)
console.log(`linked ${path.relative(process.cwd(), dir)} → ${entry}`)
