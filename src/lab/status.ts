// The status shapes the lab reads from the nodes, types only. Every lab module takes them from here.
export type { Alarm, HaStatus, SwitchoverReply, Timeline } from '../ha/status.js';
