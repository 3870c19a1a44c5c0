// The HA pair launcher lives in the lab module (tests, demo and the failover benchmark share it).
export { CLI, type Host, KEY, Pair, type PairOptions, TOKEN } from '../../src/lab/pair.js';
