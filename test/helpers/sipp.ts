// The SIPp runner lives in the lab module (tests, demo and benchmarks share it).
export { SCENARIOS, type SippResult, type SippRun, sipp } from '../../src/lab/sipp.js';
