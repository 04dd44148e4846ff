// One shared ticker for every countdown on screen (no per-row timers): `clock.second` is the
// backend's Unix second, advanced on each second boundary.

type Sub = (second: number) => void;

class Clock {
  /** The backend's current Unix second. */
  second = $state(Math.floor(Date.now() / 1000));
  /** Backend time minus local time, in whole seconds. */
  #offset = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #subs = new Set<Sub>();

  /**
   * Calibrates against the `now` of an `AccountList`. The backend runs on this machine, so a
   * difference of a second or less is the flooring of its `now`, not a clock skew: ignore it.
   */
  calibrate(backendNow: number): void {
    const d = backendNow - Math.floor(Date.now() / 1000);
    this.#offset = Math.abs(d) <= 1 ? 0 : d;
    this.second = this.#read();
  }

  /** Backend time in (fractional) seconds. */
  exact(): number {
    return Date.now() / 1000 + this.#offset;
  }

  #read(): number {
    return Math.floor(this.exact());
  }

  /** Runs `fn` on every tick; returns the unsubscribe. */
  subscribe(fn: Sub): () => void {
    this.#subs.add(fn);
    return () => this.#subs.delete(fn);
  }

  start(): void {
    if (this.#timer !== null) return;
    const tick = () => {
      this.second = this.#read();
      for (const fn of this.#subs) fn(this.second);
      // Wake just after the next second boundary so codes change on time.
      const ms = 1000 - ((Date.now() + this.#offset * 1000) % 1000) + 5;
      this.#timer = setTimeout(tick, ms);
    };
    this.#timer = setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

export const clock = new Clock();
