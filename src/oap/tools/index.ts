/**
 * Example OAP tools defined with `defineTool`.
 *
 * @module
 */
export * from "./weather.js";
