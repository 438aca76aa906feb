// Derives, from a JSON Schema, the JSON pointers of array members that are required
// unconditionally (reached only through `required` + `properties`, never through if/then).
// Used to restore [] for those members when converting protobuf back to JSON.

function deref(schema, root) {
  let s = schema;
  while (s && typeof s.$ref === "string" && s.$ref.startsWith("#/")) {
    s = s.$ref
      .slice(2)
      .split("/")
      .reduce((o, k) => o?.[k.replace(/~1/g, "/").replace(/~0/g, "~")], root);
  }
  return s;
}

export function requiredArrayPointers(root) {
  const out = new Set();
  const visit = (schema, pointer, depth) => {
    const s = deref(schema, root);
    if (!s || depth > 12) return;
    if (s.type === "array" && s.items) visit(s.items, `${pointer}/*`, depth + 1);
    if (s.properties) {
      const required = new Set(s.required ?? []);
      for (const [k, v] of Object.entries(s.properties)) {
        const child = deref(v, root);
        const p = `${pointer}/${k}`;
        if (child?.type === "array" && required.has(k)) out.add(p);
        visit(child, p, depth + 1);
      }
    }
  };
  visit(root, "", 0);
  return [...out].sort();
}
