#!/bin/sh
# The orchestrator container's entry point: convert every book in /books that has no audiobook in
# /audiobooks yet, headless (e2a-tui --no-tui), on the workers named in WORKER_NODES.
#   WORKER_NODES            host:port,... (required)
#   E2A_WORKER_TOKEN_FILE   file holding the workers' token (or E2A_WORKER_TOKEN itself)
#   E2A_FORMAT              m4b (default), mp3, opus, ...
#   E2A_WAIT_WORKERS        seconds to wait for every worker's /health at start (default 600)
# Extra arguments are passed to e2a-tui for every book (e.g. --speed 1.1). Exit 1 if any book failed.
set -eu
books=${E2A_BOOKS:-/books}
out=${E2A_AUDIOBOOKS:-/audiobooks}
fmt=${E2A_FORMAT:-m4b}
: "${WORKER_NODES:?set WORKER_NODES=host:port,... to the workers to use}"

python3 - "$WORKER_NODES" "${E2A_WAIT_WORKERS:-600}" <<'PY'
import sys, time, urllib.request
nodes = [n.strip() for n in sys.argv[1].split(",") if n.strip()]
deadline = time.monotonic() + float(sys.argv[2])
waiting = list(nodes)
while waiting:
    for node in list(waiting):
        try:
            urllib.request.urlopen(f"http://{node}/health", timeout=3).read()
            waiting.remove(node)
        except Exception:
            pass
    if waiting:
        if time.monotonic() > deadline:
            sys.exit(f"e2a-convert-books: no answer from {', '.join(waiting)} on /health; starting anyway")
        time.sleep(1)
print(f"e2a-convert-books: workers ready: {', '.join(nodes)}", flush=True)
PY

set -- --no-tui -f "$fmt" "$@"
if [ -n "${E2A_WORKER_TOKEN_FILE:-}" ]; then
    set -- --worker-token-file "$E2A_WORKER_TOKEN_FILE" "$@"
fi

status=0
converted=0
for book in "$books"/*; do
    [ -f "$book" ] || continue
    name=$(basename "$book")
    case "$name" in
        *.epub|*.fb2|*.txt|*.text|*.md|*.markdown|*.html|*.htm|*.xhtml) ;;
        *) continue ;;
    esac
    target="$out/${name%.*}.$fmt"
    if [ -e "$target" ]; then
        echo "e2a-convert-books: $target exists; skipping $name"
        continue
    fi
    echo "e2a-convert-books: $name -> $target"
    if e2a-tui "$book" -o "$target" "$@"; then
        converted=$((converted + 1))
    else
        echo "e2a-convert-books: $name failed" >&2
        status=1
    fi
done
echo "e2a-convert-books: $converted converted"
exit $status
