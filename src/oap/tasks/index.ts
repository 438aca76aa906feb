/**
 * §9.2 asynchronous tasks: lifecycle, storage (with the Principal's audit log) and the manager.
 *
 * @module
 */
export * from "./lifecycle.js";
export * from "./store.js";
export * from "./manager.js";
export { Channel } from "./channel.js";
