import { SWEEP_SLOT_MS, type Scheduled, SweepSchedule } from './sweep-schedule';

const item = (name: string): Scheduled & { name: string } => ({ name });
const names = (items: { name: string }[]) => items.map((i) => i.name).sort();

describe('SweepSchedule', () => {
  it('hands out an item once it is due, and only once', () => {
    const schedule = new SweepSchedule<ReturnType<typeof item>>();
    const a = item('a');
    const b = item('b');
    schedule.schedule(a, 1000);
    schedule.schedule(b, 2000);
    expect(schedule.takeDue(999 - SWEEP_SLOT_MS)).toEqual([]);
    // Due to the slot: at most one slot early, never late.
    expect(names(schedule.takeDue(1000))).toEqual(['a']);
    expect(schedule.takeDue(1000)).toEqual([]);
    expect(names(schedule.takeDue(5000))).toEqual(['b']);
    expect(a.slot).toBeUndefined();
  });

  it('moves an item scheduled earlier, and ignores a later time', () => {
    const schedule = new SweepSchedule<ReturnType<typeof item>>();
    const a = item('a');
    schedule.schedule(a, 5000);
    schedule.schedule(a, 1000);
    schedule.schedule(a, 9000);
    expect(names(schedule.takeDue(1000))).toEqual(['a']);
    // Its old slot no longer hands it out.
    expect(schedule.takeDue(10_000)).toEqual([]);
  });

  it('keeps an item put back into a past slot for the next call', () => {
    const schedule = new SweepSchedule<ReturnType<typeof item>>();
    const a = item('a');
    schedule.schedule(a, 1000);
    const due = schedule.takeDue(2000);
    expect(names(due)).toEqual(['a']);
    schedule.schedule(a, 1500);
    expect(names(schedule.takeDue(2000))).toEqual(['a']);
  });
});
