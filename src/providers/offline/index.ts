/** The embedded offline provider: an espeak-ng STYLE MATCH, not neural voice cloning. */
export * from './offline-provider.js';
export * from './style.js';
export * from './store.js';
export { EspeakEngine, EspeakError, type EspeakRequest } from './espeak.js';
export { sonicTransform, type SonicChange } from './sonic.js';
