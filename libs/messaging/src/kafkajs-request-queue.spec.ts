/**
 * kafkajs's RequestQueue timer as patches/kafkajs+2.2.4.patch leaves it (applied by
 * patch-package on install): it re-checks the queue only when there is something to check.
 * Unpatched, an idle connection armed it every millisecond (tulios/kafkajs#1556).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as {
  prototype: { scheduleCheckPendingRequests(): void };
};

/** A RequestQueue's timer state without its connection (only what the timer reads). */
function queue(state: { pending?: unknown[]; throttledUntil?: number }) {
  const q = Object.create(RequestQueue.prototype) as {
    pending: unknown[];
    throttledUntil: number;
    throttleCheckTimeoutId: NodeJS.Timeout | null;
    checkPendingRequests: jest.Mock;
    scheduleCheckPendingRequests(): void;
  };
  q.pending = state.pending ?? [];
  q.throttledUntil = state.throttledUntil ?? -1;
  q.throttleCheckTimeoutId = null;
  q.checkPendingRequests = jest.fn();
  return q;
}

describe('kafkajs RequestQueue timer (patched)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('arms no timer when nothing is pending and the broker does not throttle', () => {
    const q = queue({});
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
    jest.advanceTimersByTime(1_000);
    expect(q.checkPendingRequests).not.toHaveBeenCalled();
  });

  it('checks pending requests every 10 ms, as kafkajs does', () => {
    const q = queue({ pending: [{}] });
    q.scheduleCheckPendingRequests();
    jest.advanceTimersByTime(9);
    expect(q.checkPendingRequests).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(q.checkPendingRequests).toHaveBeenCalledTimes(1);
  });

  it('checks once the throttle ends, pending or not, and arms one timer at a time', () => {
    for (const pending of [[{}], []]) {
      const q = queue({ pending, throttledUntil: Date.now() + 250 });
      q.scheduleCheckPendingRequests();
      q.scheduleCheckPendingRequests();
      jest.advanceTimersByTime(249);
      expect(q.checkPendingRequests).not.toHaveBeenCalled();
      jest.advanceTimersByTime(1);
      expect(q.checkPendingRequests).toHaveBeenCalledTimes(1);
    }
  });
});
