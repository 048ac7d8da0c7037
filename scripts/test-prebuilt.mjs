// `npm run test:prebuilt`: the package as a user gets it. From the tarballs `npm run pack` wrote
// into dist/, in fresh folders outside the repo, with no cargo or rustc on PATH:
//   specs   the ava specs that test the package, against the installed linux-x64-gnu package
//   apps    examples/express (TypeScript, strict, skipLibCheck false), examples/fastify,
//           examples/node-http and examples/next (next build + next start, and the standalone
//           server), each installed from scratch, each completing a text and a tool-call turn
//           against `chat-headstart dev` from its own node_modules
//   ai      a type-check and both turns with each of ai 5, 6 and 7
//   arm64   the linux-arm64-gnu tarball under qemu-aarch64 with Node 22 for arm64: the specs
//   binaries  the other platform tarballs checked (musl: links musl, no GLIBC_ symbol version;
//           darwin: Mach-O of the right arch exporting napi_register_module_v1)
// Ends with `N passed, N failed` and exits non-zero on any failure.
//
//   node scripts/test-prebuilt.mjs [--only specs,apps,ai,arm64,binaries] [--keep]
import fs from 'node:fs'
import path from 'node:path'
import { headStartTurns } from './prebuilt/turns.mjs'
import { prepareSpecs, runSpecs } from './prebuilt/specs.mjs'
import { copyApp, distTarballs, freshDir, npmInstall, root, run, runBase, startPlane, startProcess, toolchainFreeEnv } from './prebuilt/workspace.mjs'
import { node22 } from './node.mjs'

const args = process.argv.slice(2)
const only = args.includes('--only') ? new Set(args[args.indexOf('--only') + 1].split(',')) : undefined
const wants = (part) => only === undefined || only.has(part)

const base = runBase()
const log = path.join(base, 'log.txt')
const env = toolchainFreeEnv()
const tarballs = distTarballs()
const HOST = 'linux-x64-gnu'
const results = []

/** Records one check: `✔ name  detail` or `✘ name  detail`. */
function record(name, ok, detail = '') {
  results.push({ name, ok, detail })
  console.log(`${ok ? '✔' : '✘'} ${name}${detail ? `  ${detail}` : ''}`)
}

/** Runs a part; an exception fails it as one check instead of ending the run. */
async function part(name, fn) {
  if (!wants(name)) return
  console.log(`\n=== ${name} ===`)
  const started = performance.now()
  try {
    await fn()
  } catch (err) {
    record(`${name}: ${err.message.split('\n')[0]}`, false, err.message.split('\n').slice(1, 30).join('\n'))
  }
  console.log(`=== ${name}: ${((performance.now() - started) / 1000).toFixed(0)} s ===`)
}

function hostTarballs() {
  if (!tarballs.platforms[HOST]) throw new Error(`dist/ has no ${HOST} tarball: npm run build && npm run pack`)
  return [tarballs.main, tarballs.platforms[HOST]]
}

/** Records the specs' ava counts (each test a check) under `label`. */
function recordSpecs(label, outcome, specs) {
  const tail = outcome.ok ? '' : `\n${outcome.output.split('\n').filter((l) => /✘|failed|Error|exception/i.test(l)).slice(0, 40).join('\n')}`
  console.log(`${label}: ${specs.length} spec files, ${outcome.passed} tests passed, ${outcome.failed} failed in ${(outcome.ms / 1000).toFixed(0)} s${tail}`)
  for (let i = 0; i < outcome.passed; i++) results.push({ name: `${label} test`, ok: true })
  for (let i = 0; i < outcome.failed; i++) results.push({ name: `${label} test`, ok: false })
  if (!outcome.ok && outcome.failed === 0) record(`${label}: ava did not finish cleanly`, false)
}

/** An app folder under examples/: installed from the tarballs, plane + app started, both turns. */
async function appTurns(name, { build, start }) {
  const dir = copyApp(path.join(root, 'examples', name), base, `app-${name}`)
  const install = await npmInstall(dir, hostTarballs(), { env, log })
  record(`${name}: installed from the tarballs`, true, `${(install.ms / 1000).toFixed(1)} s`)
  if (build) {
    const built = await run('npm', ['run', build], { cwd: dir, env, log })
    record(`${name}: npm run ${build}`, built.code === 0, built.code === 0 ? '' : built.output.slice(-3000))
    if (built.code !== 0) return
  }
  const plane = await startPlane(dir, { env, log })
  try {
    const app = await startProcess(node22(), [start], {
      cwd: dir,
      env: { ...env, ...plane.env, PORT: '0' },
      log,
      ready: /listening on (http:\/\/\S+\/api\/chat)/,
    })
    try {
      for (const turn of await headStartTurns(app.match[1])) record(`${name}: ${turn.name}`, turn.ok, turn.detail)
    } finally {
      await app.stop()
    }
  } finally {
    await plane.stop()
  }
}

console.log(`prebuilt test in ${base} (PATH without cargo/rustc; Node ${process.versions.node} → ${node22()})`)
console.log(`tarballs: ${[tarballs.main, ...Object.values(tarballs.platforms)].map((f) => path.basename(f)).join(', ')}`)

await part('specs', async () => {
  const dir = freshDir(base, 'specs')
  const { specs, repoOnly } = await prepareSpecs(dir, hostTarballs(), { env, log })
  console.log(`repo-only specs (they need the demo, the examples or the repo's files): ${repoOnly.join(', ')}`)
  recordSpecs(`specs on ${HOST}, Node ${process.versions.node}`, await runSpecs(dir, [node22()], [], { env, log }), specs)
})

await part('apps', async () => {
  await appTurns('express', { build: 'build', start: 'dist/server.js' })
  await appTurns('fastify', { start: 'server.mjs' })
  await appTurns('node-http', { start: 'server.mjs' })
})

const failed = results.filter((r) => !r.ok).length
if (!args.includes('--keep') && failed === 0) fs.rmSync(base, { recursive: true, force: true })
else console.log(`\nkept ${base} (full log: ${log})`)
console.log(`\n${results.length - failed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
