export interface Weather {
  city: string
  tempC: number
  conditions: string
}
export declare function isWeatherQuestion(text: string): boolean
export declare function cityOf(text: string): string
export declare function weatherFor(city: string): Weather
export declare function checkingText(city: string): string
export declare function weatherAnswer(output: Weather): string
export declare const getWeatherInputSchema: Record<string, unknown>
