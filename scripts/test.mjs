// The README's test command (`npm test`): cargo tests, a debug build of the addon, the ava
// specs on Node >= 22, and the TypeScript type check. Ends with one plain line
// `N passed, N failed` summing cargo and ava, and exits non-zero on any failure.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { envWithNode22, node22 } from './node.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const env = envWithNode22()
const args = new Set(process.argv.slice(2))

/** Runs a command, echoing its output, and resolves with { code, output }. */
function run(cmd, cmdArgs, { capture = false } = {}) {
  return new Promise((resolve) => {
    process.stdout.write(`\n$ ${cmd} ${cmdArgs.join(' ')}\n`)
    const child = spawn(cmd, cmdArgs, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => {
      process.stdout.write(d)
      if (capture) output += d
    })
    child.stderr.on('data', (d) => {
      process.stderr.write(d)
      if (capture) output += d
    })
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }))
  })
}

let passed = 0
let failed = 0
let broken = false

if (!args.has('--js-only')) {
  const cargo = await run('cargo', ['test', '--workspace', '--exclude', 'chat-headstart', '--color', 'never'], {
    capture: true,
  })
  for (const m of cargo.output.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    passed += Number(m[1])
    failed += Number(m[2])
  }
  if (cargo.code !== 0) broken = true
}

const build = await run(node22(), [path.join(root, 'node_modules/@napi-rs/cli/dist/cli.js'), 'build', '--platform', '--js', 'binding.cjs', '--dts', 'binding.d.ts'])
if (build.code !== 0) {
  broken = true
} else {
  // ava's default reporter: its TAP reporter (8.0.0) crashes on a timeout and loses the counts.
  const avaArgs = [path.join(root, 'node_modules/ava/entrypoints/cli.js')]
  const only = process.argv.slice(2).filter((a) => !a.startsWith('--'))
  const ava = await run(node22(), [...avaArgs, ...only], { capture: true })
  const plain = ava.output.replace(/\x1b\[[0-9;]*m/g, '')
  const count = (re) => [...plain.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0)
  // ava prints `N tests passed` only when nothing failed; otherwise its ✔ lines are the count.
  const pass = Math.max(count(/^\s*(\d+) tests? passed/gm), plain.match(/^\s*✔ /gm)?.length ?? 0)
  // Failures, plus whatever ava reports as broken without a failed test (timeouts, crashes, rejections).
  const fail =
    count(/^\s*(\d+) tests? failed/gm) +
    count(/^\s*(\d+) uncaught exceptions?/gm) +
    count(/^\s*(\d+) unhandled rejections?/gm) +
    count(/^\s*(\d+) tests? remained pending after a timeout/gm)
  passed += pass
  failed += fail
  if (ava.code !== 0) broken = true
  if (pass === 0) broken = true

  const tsc = await run(node22(), [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'])
  if (tsc.code !== 0) {
    broken = true
    failed += 1
    console.log('type check failed (counted as one failure)')
  }
}

// A step that broke without a counted test failure (build error, crash) still counts as one.
if (broken && failed === 0) failed = 1
console.log(`\n${passed} passed, ${failed} failed`)
process.exit(broken || failed > 0 ? 1 : 0)
