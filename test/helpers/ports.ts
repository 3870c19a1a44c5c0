// Free ports on loopback for test servers (UDP and TCP both free at once).
export { freePort } from '../../src/lab/free-port.js';
