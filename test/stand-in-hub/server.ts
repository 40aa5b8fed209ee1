/** The stand-in Hub lives in src/hub/stand-in-hub.ts (the demo ships it); the tests import it from here. */
export * from '../../src/hub/stand-in-hub.js';
