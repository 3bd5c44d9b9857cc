/** Something the event loop polls: it does its work now and says when it next has work. */
export interface Pollable {
  /** Does the work that is due at `now`; returns how much (0 when idle). */
  poll(now: number): number;
  /** When it will next have work without outside input, or Infinity. */
  nextEventAt(): number;
}
