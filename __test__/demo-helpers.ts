// Shared helpers of the demo / browser / Next.js specs.
import { spawn, type ChildProcess } from 'node:child_process'

export type Chunk = { type: string; [key: string]: unknown }

/** The environment without Trigger.dev / provider credentials, so the demo runs fully locally. */
export function localEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, DEMO_MODEL: 'local' }
  delete env.TRIGGER_SECRET_KEY
  delete env.TRIGGER_API_URL
  return { ...env, ...extra }
}

/** Reads a head-start response: `data: <json>\n\n` frames, exactly as the browser transport does. */
export async function readUiStream(res: Response): Promise<Chunk[]> {
  const text = await res.text()
  const chunks: Chunk[] = []
  for (const frame of text.split('\n\n')) {
    if (!frame.trim()) continue
    if (!frame.startsWith('data: ')) throw new Error(`unexpected SSE frame: ${JSON.stringify(frame)}`)
    chunks.push(JSON.parse(frame.slice(6)))
  }
  return chunks
}

/** POSTs a new chat's first message to a head-start route. */
export function postFirstMessage(url: string, chatId: string, text: string, init: RequestInit = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      headStartMessages: [{ id: `u-${chatId}`, role: 'user', parts: [{ type: 'text', text }] }],
      chatId,
      trigger: 'submit-message',
    }),
    ...init,
  })
}

export const textOf = (chunks: Chunk[]) =>
  chunks.filter((c) => c.type === 'text-delta').map((c) => String(c.delta)).join('')

/** Spawns a Node 22 process and resolves once a line of its stdout matches `ready`. */
export function spawnUntil(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; ready: RegExp; timeoutMs: number },
): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.ready}; output:\n${output}`))
    }, options.timeoutMs)
    const onData = (data: Buffer) => {
      output += data.toString()
      const match = output.match(options.ready)
      if (match) {
        clearTimeout(timer)
        child.stdout?.removeAllListeners('data')
        child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
        resolve({ child, match, output: () => output })
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`process exited (${code}) before it was ready; output:\n${output}`))
    })
  })
}

/** Runs a Node 22 process to its end; resolves { code, output }. */
export function runToEnd(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs: number },
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const timer = setTimeout(() => {
      output += `\n[killed after ${options.timeoutMs} ms]`
      child.kill('SIGKILL')
    }, options.timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

/** Stops a child process and waits for it. */
export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 5000).unref()
  })
}
