// The chat page in headless Chromium (Debian `chromium`, installed on first use by
// scripts/install-browser.sh, driven by playwright-core): a weather question shows step-1 text, the agent's tool output and
// the step-2 answer in ONE assistant message, then a second turn goes straight to the session.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'
import { startDemo, type Demo } from '../demo/server.mjs'
import { checkingText, weatherAnswer, weatherFor } from '../demo/weather.mjs'
import { localEnv } from './demo-helpers.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const artifacts = path.join(root, 'test-artifacts')
const executablePath = process.env.CHAT_HEADSTART_CHROMIUM ?? '/usr/bin/chromium'
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

let demo: Demo
let browser: Browser

test.before(async () => {
  if (!fs.existsSync(executablePath)) {
    // A fresh machine: install it (apt-get) rather than ask the user for a step of their own.
    const install = spawnSync('bash', [path.join(root, 'scripts/install-browser.sh')], { encoding: 'utf8', timeout: 240_000 })
    if (install.status !== 0 || !fs.existsSync(executablePath)) {
      throw new Error(`Chromium not found at ${executablePath} and scripts/install-browser.sh could not install it (set CHAT_HEADSTART_CHROMIUM):\n${install.stdout}${install.stderr}`)
    }
  }
  demo = await startDemo({ port: 0, env: localEnv(), modelTiming: { ttftMs: 150, minTokensPerSecond: 60, maxTokensPerSecond: 120 } })
  browser = await chromium.launch({ executablePath, args: CHROMIUM_FLAGS })
})
test.after.always(async () => {
  await browser?.close()
  await demo?.close()
})

test('a weather chat in the browser: one assistant message per turn, turn 2 direct to the session', async (t) => {
  t.timeout(120_000)
  const page = await browser.newPage({ viewport: { width: 900, height: 1100 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(String(e)))
  const requests: string[] = []
  page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`))
  await page.goto(demo.url)

  await page.getByTestId('input').fill('What is the weather in Paris?')
  await page.getByTestId('send').click()
  const paris = weatherFor('Paris')
  const assistant = page.getByTestId('message-assistant')
  await assistant.first().getByTestId('tool-part').and(page.locator('[data-state="output-available"]')).waitFor({ timeout: 30_000 })
  await page.getByTestId('status').and(page.locator('[data-status="ready"]')).waitFor({ timeout: 30_000 })
  t.is(await assistant.count(), 1, 'step 1 and the agent output merge into one assistant message')
  const first = assistant.first()
  const texts = await first.locator('.text').allTextContents()
  t.deepEqual(texts, [checkingText('Paris'), weatherAnswer(paris)])
  t.regex(await first.getByTestId('tool-part').innerText(), new RegExp(`Paris: ${paris.tempC}°C, ${paris.conditions}`))
  const timings = first.getByTestId('timings')
  await timings.getByTestId('t-complete').filter({ hasText: /\d+ ms/ }).waitFor({ timeout: 10_000 })
  t.regex(await timings.getByTestId('t-first-text').innerText(), /^\d+ ms$/)
  t.regex(await timings.getByTestId('t-handover').innerText(), /^\d+ ms$/)

  await page.getByTestId('input').fill('Thanks! And the weather in Tokyo?')
  await page.getByTestId('send').click()
  await assistant.nth(1).getByTestId('tool-part').and(page.locator('[data-state="output-available"]')).waitFor({ timeout: 30_000 })
  await page.getByTestId('status').and(page.locator('[data-status="ready"]')).waitFor({ timeout: 30_000 })
  t.is(await assistant.count(), 2)
  const tokyo = weatherFor('Tokyo')
  t.deepEqual(await assistant.nth(1).locator('.text').allTextContents(), [checkingText('Tokyo'), weatherAnswer(tokyo)])
  await assistant.nth(1).getByTestId('t-complete').filter({ hasText: /\d+ ms/ }).waitFor({ timeout: 10_000 })

  // Turn 1 went to the head-start route once; turn 2 appended to session.in (not /api/chat).
  t.is(requests.filter((r) => r === 'POST /api/chat').length, 1)
  t.true(requests.some((r) => /^POST .*\/realtime\/v1\/sessions\/[^/]+\/in\/append$/.test(r)))
  t.deepEqual(errors, [])

  fs.mkdirSync(artifacts, { recursive: true })
  const shot = path.join(artifacts, 'demo-chat.png')
  await page.screenshot({ path: shot, fullPage: true })
  t.log(`screenshot: ${path.relative(root, shot)}`)
  await page.close()
})
