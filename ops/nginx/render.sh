#!/bin/sh
# Renders ops/nginx/lovecraft.conf.template for the nginx container of docker-compose.yml, exactly
# as scripts/nginxConfig.ts does for `npm run cluster` (test/unit/deployConfig.test.ts compares
# the two). POSIX sh + awk only: it runs on nginx:alpine (busybox) and on Debian.
#
# Environment:
#   LOVECRAFT_NODES   the nodes, in order: "node1=node1:2567 node2=node2:2567 ..." (name=host:port)
#   LISTEN_HOST, LISTEN_PORT, ACCESS_LOG, ERROR_LOG: the template's other placeholders
# Usage: render.sh [TEMPLATE [OUTPUT]]
#   defaults: /etc/lovecraft/lovecraft.conf.template -> /etc/nginx/conf.d/default.conf
#   OUTPUT "-" writes to stdout.
set -eu

template="${1:-/etc/lovecraft/lovecraft.conf.template}"
output="${2:-/etc/nginx/conf.d/default.conf}"

if [ -z "${LOVECRAFT_NODES:-}" ]; then
  echo "render.sh: LOVECRAFT_NODES is empty (e.g. \"node1=node1:2567 node2=node2:2567\")" >&2
  exit 1
fi

render() {
  awk '
    function fill(line, node_name, node_addr, per_node,    out, rest, i, j, name, value) {
      out = ""
      rest = line
      while ((i = index(rest, "${")) > 0) {
        j = index(substr(rest, i + 2), "}")
        if (j == 0) break
        name = substr(rest, i + 2, j - 1)
        if (name !~ /^[A-Z][A-Z0-9_]*$/) {
          out = out substr(rest, 1, i + 1)
          rest = substr(rest, i + 2)
          continue
        }
        if (per_node && name == "NODE_NAME") value = node_name
        else if (per_node && name == "NODE_ADDR") value = node_addr
        else if ((name in ENVIRON) && ENVIRON[name] != "") value = ENVIRON[name]
        else { missing[name] = 1; value = "${" name "}" }
        out = out substr(rest, 1, i - 1) value
        rest = substr(rest, i + 2 + j)
      }
      return out rest
    }
    BEGIN {
      count = split(ENVIRON["LOVECRAFT_NODES"], entries, /[ \t\n]+/)
      nodes = 0
      for (k = 1; k <= count; k++) {
        if (entries[k] == "") continue
        eq = index(entries[k], "=")
        if (eq <= 1) { print "render.sh: bad LOVECRAFT_NODES entry \"" entries[k] "\" (name=host:port)" > "/dev/stderr"; bad = 1; exit 1 }
        nodes++
        node_name[nodes] = substr(entries[k], 1, eq - 1)
        node_addr[nodes] = substr(entries[k], eq + 1)
        if (node_name[nodes] !~ /^[a-z][a-z0-9-]*$/) { print "render.sh: bad node name \"" node_name[nodes] "\"" > "/dev/stderr"; bad = 1; exit 1 }
      }
      inside = 0
      held = 0
    }
    /^[ \t]*# @each-node[ \t]*$/ { inside = 1; held = 0; next }
    /^[ \t]*# @end-each-node[ \t]*$/ {
      for (n = 1; n <= nodes; n++)
        for (h = 1; h <= held; h++) print fill(hold[h], node_name[n], node_addr[n], 1)
      inside = 0
      next
    }
    inside { hold[++held] = $0; next }
    { print fill($0, "", "", 0) }
    END {
      if (bad) exit 1
      if (inside) { print "render.sh: # @each-node is never closed" > "/dev/stderr"; exit 1 }
      list = ""
      for (name in missing) list = list " " name
      if (list != "") { print "render.sh: placeholders without a value:" list > "/dev/stderr"; exit 1 }
    }
  ' "$template"
}

if [ "$output" = "-" ]; then
  render
else
  tmp="$output.tmp.$$"
  render > "$tmp" || { rm -f "$tmp"; exit 1; }
  mv "$tmp" "$output"
  echo "render.sh: wrote $output for nodes: $LOVECRAFT_NODES"
fi
