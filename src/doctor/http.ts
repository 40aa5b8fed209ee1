// The doctor's fetch capability now lives in src/lib (probes use it by default).
export { httpFetch } from '../lib/http-fetch.js';
