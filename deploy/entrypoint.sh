#!/bin/sh
# The image's entry point: runs one MiniSOC service by name, the endpoint agent, or the soc command.
set -e
case "$1" in
  http|normalize|enrich|detect|store|heartbeat|command)
    service="$1"; shift
    exec node "/app/dist/services/$service/main.js" "$@" ;;
  ingest)
    # The earlier name of the HTTP app.
    shift
    exec node /app/dist/services/http/main.js "$@" ;;
  agent)
    shift
    exec node /app/dist/agent/main.js "$@" ;;
  soc)
    shift
    exec node /app/dist/tools/cli/soc.js "$@" ;;
  *)
    echo "usage: minisoc http|normalize|enrich|detect|store|heartbeat|command|agent [args]|soc <command>" >&2
    exit 64 ;;
esac
