// The SIPp runner and its command-line builder live in the lab module (tests, demo and benchmarks share them).
export {
  clientSipp,
  OPTIONS_REGISTER,
  runSipp,
  SCENARIOS,
  type SippResult,
  type SippRun,
  type SippSpec,
  sipp,
  sippArgs,
  writeInjection,
} from '../../src/lab/sipp.js';
