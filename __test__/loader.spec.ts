// How chat-headstart loads its addon (lib/native.js → lib/native.cjs → the generated binding.cjs):
// on a platform with no binary, `import 'chat-headstart'` fails with one clear error naming the
// platform and the platform package it looked for, with napi's loader error as its cause; and the
// bundler glue (lib/bundlers.cjs) covers every napi target. The missing binary is simulated with a
// copy of the package's JS files (no .node, no platform package) in a temp app, imported by a Node
// child process.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { packageDir } from './package.helpers.ts'

const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'))

/** The napi platform names of package.json's `napi.targets`, e.g. linux-x64-gnu, darwin-arm64. */
const targets: string[] = pkg.napi.targets.map((triple: string) => {
  const [arch, , system, abi] = triple.split('-')
  const cpu = ({ x86_64: 'x64', aarch64: 'arm64' } as Record<string, string>)[arch] ?? arch
  return [system === 'windows' ? 'win32' : system, cpu, abi].filter(Boolean).join('-')
})

function libc(): 'glibc' | 'musl' | null {
  if (process.platform !== 'linux') return null
  return (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime ? 'glibc' : 'musl'
}

/** The platform package binding.cjs looks for on this machine (napi's naming). */
function hostPackage(arch = process.arch): string {
  const abi = process.platform === 'linux' ? (libc() === 'musl' ? '-musl' : '-gnu') : process.platform === 'win32' ? '-msvc' : ''
  return `${pkg.name}-${process.platform}-${arch}${abi}`
}

/** The folder of the `ai` package the specs use (the package's peer dependency). */
function aiDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.resolve('ai')))
  while (!fs.existsSync(path.join(dir, 'package.json')) || JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name !== 'ai') {
    if (path.dirname(dir) === dir) throw new Error('cannot find the ai package')
    dir = path.dirname(dir)
  }
  return dir
}

/**
 * A temp app whose node_modules hold chat-headstart as npm would unpack it (package.json and its
 * `files`) but with no .node file and no platform package, plus `ai`. Removed after the test.
 */
function appWithoutBinary(t: { teardown(fn: () => void): void }): string {
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-headstart-loader-'))
  t.teardown(() => fs.rmSync(app, { recursive: true, force: true }))
  const dest = path.join(app, 'node_modules', pkg.name)
  fs.mkdirSync(dest, { recursive: true })
  for (const entry of ['package.json', ...pkg.files]) {
    const from = path.join(packageDir, entry)
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dest, entry), { recursive: true, filter: (f) => !f.endsWith('.node') })
  }
  fs.symlinkSync(aiDir(), path.join(app, 'node_modules', 'ai'), 'dir')
  fs.writeFileSync(path.join(app, 'package.json'), '{ "type": "module" }\n')
  return app
}

/** Runs `source` (an ES module) with Node in `cwd`; no NAPI_RS_* from the outside. */
function node(cwd: string, source: string, { args = [] as string[], env = {} as Record<string, string> } = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NAPI_RS_') && k !== 'NODE_OPTIONS'))
  return spawnSync(process.execPath, [...args, '--input-type=module', '-e', source], { cwd, env: { ...clean, ...env }, encoding: 'utf8', timeout: 60_000 })
}

test('with no binary for the platform, `import "chat-headstart"` fails with one error naming the platform and the package', (t) => {
  const app = appWithoutBinary(t)
  const result = node(app, "import 'chat-headstart'")
  t.is(result.status, 1)
  const stderr = result.stderr
  const errorLines = stderr.split('\n').filter((line) => /Error\b.*:/.test(line))
  t.is(errorLines.length, 1, stderr)
  const [line] = errorLines
  t.regex(line, /NativeBindingError: chat-headstart: no native binary for this platform/)
  t.true(line.includes(`(${[process.platform, process.arch, libc()].filter(Boolean).join(' ')}`), line)
  t.true(line.includes(`the package ${hostPackage()} is not installed`), line)
  // Not napi's pile of attempts and loader frames.
  for (const noise of ['[cause]', 'Require stack', 'binding.cjs', 'Cannot find native binding', '    at ']) t.false(stderr.includes(noise), noise)
})

test("the error keeps napi-rs's loader error as its cause, and has a code", (t) => {
  const app = appWithoutBinary(t)
  const result = node(
    app,
    `try { await import('chat-headstart') } catch (err) {
      const chain = []
      for (let e = err.cause; e; e = e.cause) chain.push(e.message.split('\\n')[0])
      console.log(JSON.stringify({ name: err.name, code: err.code, message: err.message, instance: err instanceof Error, chain }))
    }`,
  )
  t.is(result.status, 0, result.stderr)
  const err = JSON.parse(result.stdout)
  t.like(err, { name: 'NativeBindingError', code: 'ERR_CHAT_HEADSTART_NATIVE_BINDING', instance: true })
  t.regex(err.chain[0], /^Cannot find native binding/)
  t.true(err.chain.some((m: string) => m.includes(`Cannot find module '${hostPackage()}'`)), err.chain.join('\n'))
})

test('an architecture napi has no package for is named as such', (t) => {
  const app = appWithoutBinary(t)
  fs.writeFileSync(path.join(app, 'arch.mjs'), "Object.defineProperty(process, 'arch', { value: 'riscv64' })\n")
  const result = node(app, "import 'chat-headstart'", { args: ['--import', './arch.mjs'] })
  t.is(result.status, 1)
  t.regex(result.stderr, /NativeBindingError: chat-headstart: no native binary/)
  t.true(result.stderr.includes(`${process.platform} riscv64`), result.stderr)
  if (process.platform === 'linux') t.true(result.stderr.includes(hostPackage('riscv64')), result.stderr)
})

test('NAPI_RS_NATIVE_LIBRARY_PATH that does not load is named in the error', (t) => {
  const app = appWithoutBinary(t)
  const missing = path.join(app, 'nowhere.node')
  const result = node(app, "import 'chat-headstart'", { env: { NAPI_RS_NATIVE_LIBRARY_PATH: missing } })
  t.is(result.status, 1)
  t.true(result.stderr.includes(`NativeBindingError: chat-headstart: cannot load NAPI_RS_NATIVE_LIBRARY_PATH=${missing}`), result.stderr)
})

test('the bundler glue traces every napi target, which binding.cjs loads by the same names', (t) => {
  const glue = fs.readFileSync(path.join(packageDir, 'lib', 'bundlers.cjs'), 'utf8')
  const loader = fs.readFileSync(path.join(packageDir, 'binding.cjs'), 'utf8')
  t.true(targets.length > 0)
  for (const target of targets) {
    const name = `${pkg.name}-${target}`
    const binary = `${pkg.name}.${target}.node`
    for (const file of [`../../${name}/package.json`, `../../${name}/${binary}`, `../node_modules/${name}/package.json`, `../node_modules/${name}/${binary}`, `../${binary}`]) {
      t.true(glue.includes(`path.join(__dirname, '${file}')`), `lib/bundlers.cjs traces ${file}`)
    }
    t.true(loader.includes(`require('${name}')`), `binding.cjs loads ${name}`)
  }
})

test('package.json exports lib/native.cjs: webpack builds require it by name from the server output', (t) => {
  t.is(pkg.exports['./lib/native.cjs'], './lib/native.cjs')
  const glue = fs.readFileSync(path.join(packageDir, 'lib', 'bundlers.cjs'), 'utf8')
  t.true(glue.includes(`__non_webpack_require__('${pkg.name}/lib/native.cjs')`))
})
