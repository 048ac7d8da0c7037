// The installed package against each `ai` major: test/prebuilt/ai-app (a small TypeScript user app
// whose model is `ai/test`'s mock of that major) installed from the tarballs with ai@<major>,
// type-checked strict with skipLibCheck false (nodenext and bundler resolution, with the newest
// TypeScript and with TypeScript 5), then run on Node 22 (type stripping) against the installed
// `chat-headstart dev`: its self-check route (SSE parser and wire helpers) and both turns.
import fs from 'node:fs'
import path from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { node22 } from '../node.mjs'
import { headStartTurns } from './turns.mjs'
import { copyApp, npmInstall, root, run, startPlane, startProcess } from './workspace.mjs'

const FIXTURE = path.join(root, 'test', 'prebuilt', 'ai-app')
/** The `ai/test` mock each major's fixture model must pick. */
const EXPECTED_MOCK = { 5: 'MockLanguageModelV2', 6: 'MockLanguageModelV3', 7: 'MockLanguageModelV4' }
const SECOND_TYPESCRIPT = 'typescript@^5.9.3'

/** What GET /api/self-check must answer (app.ts `selfCheck()`), by field. */
function selfCheckProblems(got, major) {
  const expected = {
    mock: EXPECTED_MOCK[major],
    sseEvents: [
      { event: 'message', data: '{"type":"text-delta","delta":"hi"}', id: '1' },
      { event: 'done', data: '[DONE]' },
    ],
    sseRetryMs: 250,
    underRecordLimit: true,
    slimmedUserMessageUnchanged: true,
    upserted: true,
    storedIds: ['u1'],
    reshapedRoles: ['assistant', 'tool'],
  }
  return Object.entries(expected)
    .filter(([key, value]) => !isDeepStrictEqual(got[key], value))
    .map(([key, value]) => `${key}: ${JSON.stringify(got[key])}, expected ${JSON.stringify(value)}`)
}

/**
 * Installs, type-checks and runs the fixture with ai@<major> in a fresh folder under `base`;
 * `record(name, ok, detail)` receives each check.
 */
export async function testAiMajor({ major, base, tarballs, env, log, record }) {
  const dir = copyApp(FIXTURE, base, `ai${major}`)
  const deps = [`ai@${major}`, 'zod@^4', '@types/json-schema', '@types/node@^22', 'typescript']
  await npmInstall(dir, [...tarballs, ...deps], { env, log })
  const version = (name, from = dir) => JSON.parse(fs.readFileSync(path.join(from, 'node_modules', name, 'package.json'), 'utf8')).version
  const ai = version('ai')
  record(`ai@${major}: installed ai ${ai}`, ai.split('.')[0] === String(major))

  const ts5 = path.join(dir, '.typescript-5')
  await npmInstall(dir, ['--prefix', ts5, SECOND_TYPESCRIPT], { env, log })
  for (const from of [dir, ts5]) {
    const tsc = path.join(from, 'node_modules', 'typescript', 'bin', 'tsc')
    for (const project of ['tsconfig.json', 'tsconfig.bundler.json']) {
      const checked = await run(node22(), [tsc, '--noEmit', '-p', project], { cwd: dir, env, log })
      record(`ai@${major}: tsc ${version('typescript', from)} -p ${project} (strict, skipLibCheck false)`, checked.code === 0, checked.code === 0 ? '' : checked.output.slice(-3000))
    }
  }

  const plane = await startPlane(dir, { env, log })
  try {
    const app = await startProcess(node22(), ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', 'app.ts'], {
      cwd: dir,
      env: { ...env, ...plane.env, PORT: '0' },
      log,
      ready: /ai-app listening on (http:\/\/\S+)/,
    })
    try {
      const selfCheck = await (await fetch(`${app.match[1]}/api/self-check`)).json()
      const problems = selfCheckProblems(selfCheck, major)
      record(`ai@${major}: SSE parser and wire helpers (self-check)`, problems.length === 0, problems.join('\n'))
      for (const turn of await headStartTurns(`${app.match[1]}/api/chat`)) record(`ai@${major}: ${turn.name}`, turn.ok, turn.detail)
      record(`ai@${major}: the app saw the typed getWeather call`, /asks getWeather\(Rome\)/.test(app.output()), '')
    } finally {
      await app.stop()
    }
  } finally {
    await plane.stop()
  }
}
