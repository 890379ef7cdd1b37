import { EventEmitter } from 'node:events';
import { logProcessWarnings } from './process-warnings';

describe('logProcessWarnings', () => {
  // Jest's `process` is a sandbox's: the real one is exercised by the e2e logs (grpc-tls).
  it("logs a process warning through the service's logger instead of Node's own listener", () => {
    const emitter = new EventEmitter();
    const nodesOwn = jest.fn();
    emitter.on('warning', nodesOwn);
    const warn = jest.fn();
    const undo = logProcessWarnings({ warn }, emitter);
    const warning = Object.assign(new Error('setting the TLS ServerName to an IP address'), {
      name: 'DeprecationWarning',
      code: 'DEP0123',
    });
    emitter.emit('warning', warning);
    expect(nodesOwn).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledWith(
      { warning: 'DeprecationWarning', code: 'DEP0123' },
      'setting the TLS ServerName to an IP address',
    );
    undo();
    expect(emitter.listeners('warning')).toEqual([nodesOwn]);
  });
});
