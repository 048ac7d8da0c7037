// The package under test, by name: in the repo that is the repo itself (a package can import
// itself by its name), under `npm run test:prebuilt` the copy installed from the packed tarballs.
// Specs that check internals (the binding's test hooks, listener internals) load the package's
// private modules through `privateModule`, so they test the same copy.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The folder of the `chat-headstart` that `import 'chat-headstart'` loads. */
export const packageUrl = new URL('./', import.meta.resolve('chat-headstart'))
export const packageDir = fileURLToPath(packageUrl)

/** A module of the package by its path inside the package, e.g. `lib/native.js`. */
export const privateModule = <T>(relative: string): Promise<T> => import(new URL(relative, packageUrl).href)

/**
 * Whether the package under test is the repo checkout: `npm test` builds its addon with the
 * `testing` cargo feature (src/binding/testing/), whose exports an installed release lacks.
 */
export const isRepoCheckout = existsSync(new URL('Cargo.toml', packageUrl))
