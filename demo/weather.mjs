// The demo's one tool, `getWeather`, and the texts around it. Everything is a pure function of
// the city name, so tests, the browser page and the timing comparison see the same answers.

const CONDITIONS = ['sunny', 'partly cloudy', 'overcast', 'light rain', 'windy', 'clear']

/** Weather questions: the model answers them with a `getWeather` tool call. */
export function isWeatherQuestion(text) {
  return /\b(weather|temperature|forecast|how (?:hot|cold|warm))\b/i.test(text)
}

/** The city a question names ("… in Paris?", "… for New York"), or "Paris" when it names none. */
export function cityOf(text) {
  const match = /\b(?:in|for|at)\s+([A-Z][\p{L}'-]*(?:\s+[A-Z][\p{L}'-]*)*)/u.exec(text)
  return match ? match[1] : 'Paris'
}

/** 32-bit FNV-1a: a stable hash so each city always gets the same weather. */
function hash(text) {
  let h = 0x811c9dc5
  for (const ch of text.toLowerCase()) {
    h ^= ch.codePointAt(0)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** The tool's output: deterministic in the city. */
export function weatherFor(city) {
  const h = hash(city)
  return { city, tempC: (h % 36) - 4, conditions: CONDITIONS[(h >>> 8) % CONDITIONS.length] }
}

/** Step-1 text the model streams before its tool call. */
export function checkingText(city) {
  return `Let me check the current weather in ${city}.`
}

/** The step-2 answer once the tool output is known (written by the agent). */
export function weatherAnswer(output) {
  return `It is ${output.tempC}°C and ${output.conditions} in ${output.city} right now. ` +
    (output.tempC >= 20 ? 'A good day to be outside.' : output.tempC >= 10 ? 'Bring a light jacket.' : 'Dress warmly.')
}

/** JSON Schema of the tool input (schema-only in step 1: the agent executes it). */
export const getWeatherInputSchema = {
  type: 'object',
  properties: { city: { type: 'string', description: 'City name, e.g. "Paris"' } },
  required: ['city'],
  additionalProperties: false,
}
