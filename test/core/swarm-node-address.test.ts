import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { swarmNodeAddress, unknownNodeKeys, type SwarmNodeFacts } from '../../src/core/swarm-node-address.js';

// Where cutover dials a Swarm node's tasks: the rule the runtime routes by and doctor shows.
describe('the address of a swarm node', () => {
  const worker: SwarmNodeFacts = {
    id: 'dv1mzyf5mwi64pv4xsgpe7i78',
    hostname: 'worker-1',
    labels: {},
    statusAddress: '10.0.0.12',
    self: false,
  };
  const rules = { overrides: {}, selfAddress: '127.0.0.1', fallback: '127.0.0.1' };

  it("is the node's Status.Addr when nothing else says", () => {
    assert.deepEqual(swarmNodeAddress(worker, rules), { address: '10.0.0.12', source: 'Status.Addr' });
  });

  it('is loopback for the manager cutover runs on, and its Status.Addr when cutover runs elsewhere', () => {
    const manager = { ...worker, id: 'm', hostname: 'manager', statusAddress: '10.0.0.11', self: true };
    assert.deepEqual(swarmNodeAddress(manager, rules), { address: '127.0.0.1', source: 'this machine' });
    assert.deepEqual(swarmNodeAddress(manager, { ...rules, selfAddress: null }), {
      address: '10.0.0.11',
      source: 'Status.Addr',
    });
  });

  it('node_addresses wins (by ID, then hostname), then the cutover.address label', () => {
    const labelled = { ...worker, labels: { 'cutover.address': ' 192.168.1.12 ' } };
    assert.deepEqual(swarmNodeAddress(labelled, rules), { address: '192.168.1.12', source: 'label' });
    assert.deepEqual(swarmNodeAddress(labelled, { ...rules, overrides: { 'worker-1': '172.16.0.12' } }), {
      address: '172.16.0.12',
      source: 'node_addresses',
    });
    assert.deepEqual(
      swarmNodeAddress(labelled, {
        ...rules,
        overrides: { 'worker-1': '172.16.0.12', dv1mzyf5mwi64pv4xsgpe7i78: '172.16.0.99' },
      }),
      { address: '172.16.0.99', source: 'node_addresses' },
    );
  });

  it('falls back when Swarm has no address yet (0.0.0.0 or none)', () => {
    assert.deepEqual(swarmNodeAddress({ ...worker, statusAddress: '0.0.0.0' }, rules), {
      address: '127.0.0.1',
      source: 'fallback',
    });
    assert.deepEqual(swarmNodeAddress({ ...worker, statusAddress: null }, rules).source, 'fallback');
  });

  it('takes only an IP address from a label or Status.Addr: anything else falls through to the next rule', () => {
    for (const hostile of ["10.0.0.9'; touch /tmp/x; '", '$(id)', 'evil.example.com', '10.0.0.300', '']) {
      const labelled = { ...worker, labels: { 'cutover.address': hostile } };
      assert.deepEqual(swarmNodeAddress(labelled, rules), { address: '10.0.0.12', source: 'Status.Addr' }, hostile);
      assert.deepEqual(swarmNodeAddress({ ...worker, statusAddress: hostile }, rules).source, 'fallback', hostile);
    }
    assert.deepEqual(swarmNodeAddress({ ...worker, labels: { 'cutover.address': 'fd00::12' } }, rules), {
      address: 'fd00::12',
      source: 'label',
    });
  });

  it('names the node_addresses keys that match no node', () => {
    assert.deepEqual(
      unknownNodeKeys({ 'worker-1': '10.0.0.12', 'wroker-2': '10.0.0.13', dv1mzyf5mwi64pv4xsgpe7i78: '10.0.0.12' }, [
        worker,
      ]),
      ['wroker-2'],
    );
  });
});
