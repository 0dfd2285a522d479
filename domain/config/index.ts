// A stack's config: one zod schema per namespace, and the parse of them all.
export * from "./app";
export * from "./backup";
export * from "./database";
export * from "./gate";
export * from "./kubernetes";
export * from "./parse";
export * from "./restore";
export * from "./target";
