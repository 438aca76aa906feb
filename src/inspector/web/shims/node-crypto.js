// Browser stand-in for the one `node:crypto` export the bundled HPKE code uses.
export const webcrypto = globalThis.crypto;
export default { webcrypto };
