// Shared bits of the lab tests: the root check and polling.

export const isRoot = process.getuid?.() === 0;
export const NEEDS_ROOT = isRoot ? false : 'needs root for network namespaces';

export { eventually } from '../../src/lab/eventually.js';
