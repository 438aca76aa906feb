/** The async queue of task watchers and streams (shared with the Open Floor bindings). */
export { Channel } from "../../util/channel.js";
