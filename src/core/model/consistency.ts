/** Read consistency levels (API.md): which promises a read asks for. */
export type Consistency = 'eventual' | 'session' | 'bounded' | 'causal' | 'strong';
export const consistencyLevels: readonly Consistency[] = ['eventual', 'session', 'bounded', 'causal', 'strong'];
