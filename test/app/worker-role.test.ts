// The SIP worker's role, held once: set by the node, read by the server's expiry, heard by replication.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkerRoleHolder } from '../../src/app/worker-role.js';

describe('WorkerRoleHolder', () => {
  it('starts as backup; subscribers hear changes only, after the role is taken, until they unsubscribe', () => {
    const role = new WorkerRoleHolder();
    assert.equal(role.current, 'backup');
    assert.equal(role.isPrimary, false);
    const heard: string[] = [];
    const off = role.subscribe((r) => heard.push(`${r} ${role.current}`));
    assert.equal(role.set('backup'), false, 'no change');
    assert.equal(role.set('primary'), true);
    assert.equal(role.isPrimary, true);
    assert.equal(role.set('primary'), false);
    off();
    assert.equal(role.set('backup'), true);
    assert.deepEqual(heard, ['primary primary']);
  });
});
