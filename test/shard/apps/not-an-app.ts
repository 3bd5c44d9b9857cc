/** A module with no default export: the engine must refuse it (engine.test.ts). */
export const nothing = 0;
