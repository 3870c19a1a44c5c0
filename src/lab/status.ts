// The status shapes the lab reads from the nodes, types only. Every lab module takes them from here, so that
// where the HA layer keeps them is written in one place.
export type { Alarm, HaStatus, SwitchoverReply } from '../ha/node.js';
export type { Timeline } from '../ha/timeline.js';
