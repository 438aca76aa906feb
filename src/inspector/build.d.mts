/** Options of {@link buildInspector}. */
export interface BuildInspectorOptions {
  /** Output directory (default dist/inspector of the package). */
  readonly outdir?: string;
  /** Minify inspector.js (default true). */
  readonly minify?: boolean;
}

/** Builds the inspector page (index.html, inspector.css, inspector.js) into `outdir`; returns the paths written. */
export function buildInspector(options?: BuildInspectorOptions): Promise<string[]>;
