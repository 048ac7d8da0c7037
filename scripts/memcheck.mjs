#!/usr/bin/env node
// `npm run memcheck [-- --no-build]`: the addon under valgrind's memcheck, leak check included.
// Builds a debug addon WITHOUT mimalloc (`--no-default-features`, see Cargo.toml) into
// target/memcheck/, so every Rust allocation goes through malloc/free where valgrind sees it,
// then runs scripts/memcheck-drive.mjs under valgrind with that binary twice: one round of
// head-start turns and four. Prints the errors and leaks whose stacks pass through the addon, then
// one JSON line; exits 0 only when both drives passed, valgrind found no error and no definite or
// indirect leak in the addon (its one-off registration at load aside), and the addon's leak
// records (possible ones included) did not grow with the extra turns.
// Not part of npm test: it takes minutes (Node under valgrind).
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { addonReport } from './memcheck-log.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = join(root, 'target', 'memcheck')
const { values } = parseArgs({ options: { 'no-build': { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } })
if (values.help) {
  console.log('usage: npm run memcheck [-- --no-build]')
  process.exit(0)
}
if (process.platform !== 'linux') {
  console.error('npm run memcheck needs Linux (valgrind)')
  process.exit(2)
}
if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('valgrind is not on PATH (Debian: apt-get install valgrind)')
  process.exit(2)
}

mkdirSync(outDir, { recursive: true })
if (!values['no-build']) {
  const build = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/@napi-rs/cli/dist/cli.js'),
      'build',
      '--platform',
      '--no-default-features',
      '--features',
      'testing',
      '--target-dir',
      join(root, 'target', 'memcheck-build'),
      '--output-dir',
      outDir,
      '--no-js',
      '--dts',
      'binding.d.ts',
    ],
    { cwd: root, stdio: 'inherit' },
  )
  if (build.status !== 0) process.exit(build.status ?? 1)
}
const addon = readdirSync(outDir).find((f) => f.endsWith('.node'))
if (!addon) {
  console.error(`no .node in ${outDir}: run without --no-build`)
  process.exit(2)
}

const ROUNDS = [1, 4]

/** One valgrind run of the drive with `rounds` rounds of turns; its report of the addon. */
function runDrive(rounds) {
  const dir = join(outDir, `rounds-${rounds}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir)
  const started = Date.now()
  const run = spawnSync(
    'valgrind',
    [
      '--leak-check=full',
      '--show-leak-kinds=definite,indirect,possible',
      // V8 writes and runs machine code on the heap: valgrind must notice translated code change.
      '--smc-check=all-non-file',
      '--num-callers=40',
      `--log-file=${join(dir, 'valgrind.%p.log')}`,
      process.execPath,
      // The drive collects what it no longer holds before it exits.
      '--expose-gc',
      join(root, 'scripts', 'memcheck-drive.mjs'),
    ],
    {
      cwd: root,
      // The drive's closing line says how many turns it made.
      stdio: ['inherit', 'pipe', 'inherit'],
      encoding: 'utf8',
      env: {
        ...process.env,
        NAPI_RS_NATIVE_LIBRARY_PATH: join(outDir, addon),
        MEMCHECK_EXPECT_SYSTEM_ALLOCATOR: '1',
        MEMCHECK_ROUNDS: String(rounds),
      },
    },
  )
  process.stdout.write(run.stdout ?? '')
  const turns = Number(/memcheck drive: ok \((\d+) turns/.exec(run.stdout ?? '')?.[1] ?? NaN)
  const logs = readdirSync(dir).filter((f) => f.startsWith('valgrind.'))
  const reports = logs.map((f) => addonReport(readFileSync(join(dir, f), 'utf8')))
  const all = (key) => reports.flatMap((r) => r[key])
  return {
    rounds,
    turns,
    driveExit: run.status,
    seconds: Math.round((Date.now() - started) / 1000),
    logs: logs.map((f) => join('target', 'memcheck', `rounds-${rounds}`, f)),
    errors: all('errors'),
    leaks: all('leaks'),
    possiblyLost: all('possiblyLost'),
    atLoad: all('atLoad'),
    leakSummary: reports.map((r) => r.summary),
  }
}

const runs = ROUNDS.map(runDrive)
const [small, large] = runs
for (const r of runs) {
  for (const block of [...r.errors, ...r.leaks, ...r.possiblyLost]) console.log(`\n[${r.rounds} round(s)]\n${block}`)
}
// A leak per turn would add at least one block per extra turn; stragglers of the last turn (a
// task still alive at exit) may show as "possibly lost" in any run.
const extraTurns = large.turns - small.turns
const growth = large.possiblyLost.length + large.leaks.length - (small.possiblyLost.length + small.leaks.length)
// A drive that did not report its turns failed: `extraTurns` is then NaN and nothing passes.
const pass = runs.every((r) => r.driveExit === 0 && r.errors.length === 0 && r.leaks.length === 0) && growth < extraTurns
const figures = (r) => ({
  rounds: r.rounds,
  turns: r.turns,
  driveExit: r.driveExit,
  seconds: r.seconds,
  addonErrors: r.errors.length,
  addonLeaks: r.leaks.length,
  addonPossiblyLost: r.possiblyLost.length,
  addonAtLoad: r.atLoad.length,
  leakSummary: r.leakSummary,
  logs: r.logs,
})
console.log(JSON.stringify({ command: 'npm run memcheck', runs: runs.map(figures), addonLeakGrowth: growth, extraTurns, pass }))
process.exit(pass ? 0 : 1)
