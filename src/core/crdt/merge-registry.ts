/**
 * Application merge functions for `merge:<name>` fields. A function receives the values of the
 * concurrent versions (siblings) sorted in op order, copies of one idempotent write reduced to
 * one, and returns the field's value. It must be pure and deterministic: every region calls it
 * on the same siblings and must get the same answer.
 */
import type { JsonValue } from '../util/json.js';

export type MergeFn = (siblings: readonly JsonValue[]) => JsonValue;

export type MergeRegistry = Readonly<Record<string, MergeFn>>;
