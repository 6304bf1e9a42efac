/** Shared audio toolkit: sniffing, probing, decoding, analysis, quality and encoding. */
export * from './errors.js';
export * from './sniff.js';
export * from './probe.js';
export * from './decode.js';
export * from './analysis.js';
export * from './quality.js';
export * from './encode.js';
