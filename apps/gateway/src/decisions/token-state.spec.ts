import { TokenState } from './token-state';

const REFUSED =
  /^The entitlement service refuses this gateway's calls \(UNAUTHENTICATED\): .+\. Until it takes the token, requests it must ask about are answered 503 \(no route fails open on it\) and \/ready fails$/;
const TAKEN_AGAIN = 'The entitlement service takes ENTITLEMENT_GRPC_TOKEN again';

describe('TokenState', () => {
  const logger = { log: jest.fn(), error: jest.fn() };
  let now: number;

  beforeEach(() => {
    logger.log.mockReset();
    logger.error.mockReset();
    now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => jest.restoreAllMocks());

  it('starts neither refused nor taken lately, and logs nothing', () => {
    const state = new TokenState(logger, true);
    expect(state.refusal).toBeUndefined();
    expect(state.takenLately).toBe(false);
    expect(logger.log).not.toHaveBeenCalled();
    expect(logger.error).not.toHaveBeenCalled();
  });

  it('logs repeated refusals once, naming the variable, and refuses /ready until taken', () => {
    const state = new TokenState(logger, true);
    for (let i = 0; i < 3; i++) state.refusedNow();
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error.mock.calls[0]).toHaveLength(1);
    expect(logger.error.mock.calls[0][0]).toMatch(REFUSED);
    expect(logger.error.mock.calls[0][0]).toContain(
      ': ENTITLEMENT_GRPC_TOKEN is not one of its GRPC_TOKENS.',
    );
    expect(state.refusal).toBe(
      "the entitlement service refuses this gateway's ENTITLEMENT_GRPC_TOKEN " +
        '(not one of its GRPC_TOKENS)',
    );
    expect(state.takenLately).toBe(false);
    expect(logger.log).not.toHaveBeenCalled();
  });

  it('names a missing token as unset', () => {
    const state = new TokenState(logger, false);
    state.refusedNow();
    expect(logger.error.mock.calls[0][0]).toMatch(REFUSED);
    expect(logger.error.mock.calls[0][0]).toContain(
      ': it requires a token and ENTITLEMENT_GRPC_TOKEN is unset.',
    );
    expect(state.refusal).toBe(
      "the entitlement service refuses this gateway's ENTITLEMENT_GRPC_TOKEN (unset)",
    );
  });

  it('refused → taken: clears the refusal and logs the recovery once', () => {
    const state = new TokenState(logger, true);
    state.refusedNow();
    state.taken();
    state.taken();
    expect(state.refusal).toBeUndefined();
    expect(state.takenLately).toBe(true);
    expect(logger.log).toHaveBeenCalledTimes(1);
    expect(logger.log).toHaveBeenCalledWith(TAKEN_AGAIN);

    // A new refusal is a new start of it: logged again, and so is its end.
    state.refusedNow();
    expect(state.takenLately).toBe(false);
    state.taken();
    expect(logger.error).toHaveBeenCalledTimes(2);
    expect(logger.log).toHaveBeenCalledTimes(2);
  });

  it('a taken call without a refusal before logs nothing', () => {
    const state = new TokenState(logger, true);
    state.taken();
    expect(logger.log).not.toHaveBeenCalled();
    expect(logger.error).not.toHaveBeenCalled();
  });

  it('vouches for the token for 10 s after a taken call, each one starting the window anew', () => {
    const state = new TokenState(logger, true);
    state.taken();
    now += 9_999;
    expect(state.takenLately).toBe(true);
    now += 1;
    expect(state.takenLately).toBe(false);

    state.taken();
    now += 5_000;
    state.taken();
    now += 9_999;
    expect(state.takenLately).toBe(true);
    now += 1;
    expect(state.takenLately).toBe(false);
  });

  it('a refusal ends the window at once, until the next taken call', () => {
    const state = new TokenState(logger, true);
    state.taken();
    now += 1_000;
    state.refusedNow();
    expect(state.takenLately).toBe(false);
    // The window starts anew with the next taken call.
    now += 9_000;
    state.taken();
    now += 9_999;
    expect(state.takenLately).toBe(true);
  });
});
