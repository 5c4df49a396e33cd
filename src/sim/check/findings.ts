/**
 * What every checker returns is built here: violations are collected as they are found, the
 * first few kept verbatim (each is one self-contained line), the rest only counted.
 */
import type { Verdict } from '../history.js';

export const violationsShownMax = 10;

/** A Verdict with optional remarks that are not violations (for example reads a checker skipped). */
export interface CheckerVerdict extends Verdict {
  readonly notes?: readonly string[];
}

export class Findings {
  readonly #shown: string[] = [];
  readonly #notes: string[] = [];
  #total = 0;
  #checked = 0;

  /** Counts things examined, so that a vacuous pass shows as checked: 0. */
  examined(n = 1): void {
    this.#checked += n;
  }

  violation(message: string): void {
    this.#total++;
    if (this.#shown.length < violationsShownMax) this.#shown.push(message);
  }

  note(message: string): void {
    this.#notes.push(message);
  }

  get count(): number {
    return this.#total;
  }

  verdict(checker: string): CheckerVerdict {
    const hidden = this.#total - this.#shown.length;
    const violations = hidden > 0 ? [...this.#shown, `(${hidden} more violations of ${checker} not shown)`] : [...this.#shown];
    const base = { checker, ok: this.#total === 0, checked: this.#checked, violations };
    return this.#notes.length > 0 ? { ...base, notes: [...this.#notes] } : base;
  }
}
