// The main job (`npm start`): the local session plane, the demo agent, the local model and an
// Express app mounting chat.toNodeListener(chat.headStart(...)) at /api/chat, in one process;
// prints the chat page's URL. `npm start -- --compare [--runs N]` prints the with/without
// Head Start timing table instead. `npm start -- --help` lists the flags.
import { parseArgs } from 'node:util'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { envWithNode22, node22 } from './node.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

const usage = `Usage: npm start -- [options]

  --port <n>         port of the chat app (default: $PORT or 3000; 0 = any free port)
  --host <addr>      interface to listen on (default 127.0.0.1)
  --impl <name>      "ours" (chat-headstart, default) or "reference" (@trigger.dev/sdk/chat-server)
  --compare          run first turns without and with Head Start and print the timing table
  --runs <n>         turns per mode and scenario for --compare (default 5)
  --scenario <name>  --compare only this scenario: "text" or "weather" (default both)
  -h, --help         this text

Environment:
  TRIGGER_SECRET_KEY, TRIGGER_API_URL   talk to Trigger.dev (your deployed chat.agent "demo-agent")
                                        instead of the local session plane
  OPENAI_API_KEY (+ DEMO_OPENAI_MODEL) or ANTHROPIC_API_KEY (+ DEMO_ANTHROPIC_MODEL)
                                        use that provider for step 1 (needs @ai-sdk/openai or
                                        @ai-sdk/anthropic installed); DEMO_MODEL=local forces the local model`

let args
try {
  ;({ values: args } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      impl: { type: 'string' },
      compare: { type: 'boolean', default: false },
      runs: { type: 'string', default: '5' },
      scenario: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }))
} catch (error) {
  console.error(`${error.message}\n\n${usage}`)
  process.exit(2)
}
if (args.help) {
  console.log(usage)
  process.exit(0)
}

const toInt = (name, value) => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`)
    process.exit(2)
  }
  return n
}

// A fresh clone has no native addon yet: build it once (release, like the published package).
const hasAddon = fs.existsSync(path.join(root, 'binding.cjs')) && fs.readdirSync(root).some((f) => /^chat-headstart\..+\.node$/.test(f))
if (!hasAddon) {
  console.log('Building the native addon (first run only: napi build --platform --release)…')
  const built = spawnSync(node22(), [path.join(root, 'node_modules/@napi-rs/cli/dist/cli.js'), 'build', '--platform', '--release', '--js', 'binding.cjs', '--dts', 'binding.d.ts'], {
    cwd: root,
    env: envWithNode22(),
    stdio: 'inherit',
  })
  if (built.status !== 0) {
    console.error('building the native addon failed (see above); Rust (stable) must be on PATH')
    process.exit(1)
  }
}

if (args.compare) {
  const { runCompare } = await import('../demo/compare.mjs')
  const runs = toInt('runs', args.runs)
  try {
    await runCompare({ runs, impl: args.impl, scenarios: args.scenario ? [args.scenario] : undefined })
    process.exit(0)
  } catch (error) {
    console.error(`compare failed: ${error?.stack ?? error}`)
    process.exit(1)
  }
}

const { startDemo } = await import('../demo/server.mjs')
const port = toInt('port', args.port ?? process.env.PORT ?? '3000')
let demo
try {
  demo = await startDemo({ port, host: args.host, impl: args.impl, log: (line) => console.log(line) })
} catch (error) {
  console.error(`could not start the demo: ${error?.message ?? error}`)
  process.exit(1)
}
console.log(`chat-headstart demo
  backend:  ${demo.backend.local ? `local session plane at ${demo.apiUrl}` : `Trigger.dev at ${demo.apiUrl}`}
  model:    ${demo.modelName}
  handler:  ${demo.implDescription}
  turn 2+:  browser → ${demo.browserBaseURL === '/trigger' ? `${demo.url}trigger (proxied to the plane)` : demo.browserBaseURL}

Open ${demo.url} in a browser. Ctrl+C stops everything.`)

let stopping = false
const stop = async () => {
  if (stopping) process.exit(1)
  stopping = true
  await demo.close().catch(() => {})
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
