/** Read consistency levels (docs/api.md, "Consistency levels"): which promises a read asks for. */
export type Consistency = 'eventual' | 'session' | 'bounded' | 'causal' | 'strong';
export const consistencyLevels: readonly Consistency[] = ['eventual', 'session', 'bounded', 'causal', 'strong'];
