// Bundles the chat page offline with esbuild (in memory, once per process) and renders its HTML.
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))

let pending
/** The page's JavaScript (React, useChat, TriggerChatTransport and the page), minified. */
export function pageScript() {
  pending ??= build({
    entryPoints: [path.join(here, 'main.jsx')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    minify: true,
    legalComments: 'none',
    // The SDK reaches node:http2 (S2 append sessions) only through a dynamic import on Node.
    external: ['node:*'],
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  }).then((result) => result.outputFiles[0].text)
  // A failed build should be retried on the next request, not cached forever.
  pending.catch(() => {
    pending = undefined
  })
  return pending
}

const escapeScriptJson = (value) => JSON.stringify(value).replace(/</g, '\\u003c')

/** The page's HTML; `config` is handed to the script as `window.__DEMO__`. */
export function pageHtml(config, scriptPath = '/app.js') {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chat-headstart demo</title>
<style>
  :root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  body { margin: 0; background: #f4f5f7; color: #1d2330; }
  main { max-width: 760px; margin: 0 auto; padding: 24px 16px 120px; }
  header h1 { font-size: 22px; margin: 0 0 4px; }
  .sub { margin: 0 0 16px; color: #5b6475; font-size: 13px; }
  .hint { color: #5b6475; background: #fff; border: 1px dashed #c9cfda; border-radius: 10px; padding: 14px; }
  .message { background: #fff; border-radius: 12px; padding: 12px 14px; margin: 10px 0; box-shadow: 0 1px 2px rgba(0,0,0,.06); }
  .message.user { background: #e7efff; margin-left: 15%; }
  .role { font-size: 12px; font-weight: 600; color: #5b6475; margin-bottom: 4px; }
  .text { margin: 6px 0; line-height: 1.45; white-space: pre-wrap; }
  .tool { border: 1px solid #d5dbe6; border-radius: 8px; padding: 8px 10px; margin: 8px 0; background: #fafbfd; font-size: 14px; }
  .tool-head { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; color: #33415c; }
  .badge { font-family: system-ui, sans-serif; font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; background: #33415c; color: #fff; border-radius: 4px; padding: 1px 5px; margin-right: 4px; }
  .tool-output { display: inline-block; margin-top: 4px; color: #0b6b3a; font-weight: 600; }
  .tool-pending { color: #8a6d00; } .tool-error { color: #b00020; }
  .timings { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 8px; padding-top: 8px; border-top: 1px solid #eef0f4; font-size: 12px; color: #5b6475; }
  .timings .path { font-weight: 600; color: #33415c; }
  .error { color: #b00020; background: #fff0f2; border-radius: 8px; padding: 10px; }
  .composer { position: fixed; left: 0; right: 0; bottom: 0; display: flex; gap: 8px; padding: 14px max(16px, calc(50vw - 364px)); background: #fff; border-top: 1px solid #dde1e8; }
  .composer input { flex: 1; font-size: 15px; padding: 10px 12px; border: 1px solid #c9cfda; border-radius: 8px; }
  .composer button { font-size: 15px; padding: 10px 16px; border-radius: 8px; border: 0; background: #2f5bea; color: #fff; cursor: pointer; }
  .composer button.secondary { background: #e4e7ee; color: #1d2330; }
  .composer button:disabled { opacity: .5; cursor: default; }
  .status { position: fixed; right: 12px; bottom: 72px; font-size: 11px; color: #8b93a3; }
</style>
</head>
<body>
<div id="root"></div>
<script>window.__DEMO__ = ${escapeScriptJson(config)}</script>
<script type="module" src="${scriptPath}"></script>
</body>
</html>
`
}
