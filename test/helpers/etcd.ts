// A real etcd cluster on loopback for the cluster-mode tests (src/lab/etcd-cluster.ts runs the members).
export { startLoopbackEtcd } from '../../src/lab/etcd-cluster.js';
