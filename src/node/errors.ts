/**
 * Errors of `agentwire serve` (the node): configuration and keys.
 *
 * @module
 */
import { AgentwireError } from "../errors.js";

/** Node configuration errors. */
export class NodeConfigError extends AgentwireError<"ERR_NODE_CONFIG" | "ERR_NODE_KEYS"> {}
