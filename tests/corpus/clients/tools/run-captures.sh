#!/bin/sh
# Re-create the captured client replies in ../ by driving real neomutt and
# s-nail inside tmux.  Needs: neomutt, s-nail, tmux, python3 (Debian:
# apt-get install -y neomutt s-nail tmux).  Nothing leaves the machine: the
# "MTA" is capture.sh, which writes the message to a file.
#
# Usage: tools/run-captures.sh [case...]
#   cases: neomutt_interleaved neomutt_flowed_top snail_interleaved
#          snail_bottom neomutt_interleaved_longline   (default: all)
set -eu

TOOLS=$(cd "$(dirname "$0")" && pwd)
OUTDIR=$(dirname "$TOOLS")
WORKROOT=${WORKROOT:-$(mktemp -d /tmp/tidings-client-capture.XXXXXX)}
echo "work dir: $WORKROOT"

# wait_for SESSION REGEX [SECONDS]: wait until the tmux pane shows REGEX.
wait_for() {
    i=0
    while ! tmux capture-pane -p -t "$1" 2>/dev/null | grep -Eq -- "$2"; do
        i=$((i + 1))
        if [ "$i" -gt $((${3:-20} * 10)) ]; then
            echo "timeout waiting for /$2/ in $1; pane:" >&2
            tmux capture-pane -p -t "$1" >&2 || true
            tmux kill-session -t "$1" 2>/dev/null || true
            exit 1
        fi
        sleep 0.1
    done
}

# wait_file FILE: wait until the capture script has finished writing FILE.
wait_file() {
    i=0
    while [ ! -s "$1" ] || [ ! -e "$1.argv" ]; do
        i=$((i + 1))
        [ "$i" -gt 200 ] && { echo "timeout waiting for $1" >&2; exit 1; }
        sleep 0.1
    done
    sleep 0.5
}

wait_gone() {
    i=0
    while tmux has-session -t "$1" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -gt 100 ] && { tmux kill-session -t "$1"; break; }
        sleep 0.1
    done
}

# setup NAME RCFILE: fresh work dir with an mbox holding request.eml.
setup() {
    W=$WORKROOT/$1
    rm -rf "$W"; mkdir -p "$W"
    { echo "From tidings@example.test Fri Dec  4 08:00:00 2026"
      cat "$OUTDIR/request.eml"; echo; } > "$W/inbox"
    sed "s|@TOOLS@|$TOOLS|g; s|@WORK@|$W|g" "$TOOLS/$2" > "$W/rc"
    OUT=$OUTDIR/$1.eml
    rm -f "$OUT" "$W/out.eml" "$W/out.eml.argv"
}

# neomutt NAME EDIT_MODE EDIT_WRAP
neomutt_case() {
    setup "$1" neomuttrc
    S="cap-$1"
    tmux new-session -d -s "$S" -x 100 -y 30 \
        "env -i PATH=/usr/bin:/bin HOME=$W TERM=xterm TZ=UTC LC_ALL=C.UTF-8 \
         CAPTURE_OUT=$W/out.eml EDIT_MODE=$2 EDIT_WRAP=$3 EDIT_SAVE=$W \
         neomutt -n -F $W/rc -f $W/inbox"
    wait_for "$S" 'Your update for Fri 4 Dec'
    tmux send-keys -t "$S" r            # reply (include/reply_to/fast_reply set: no prompts)
    wait_for "$S" 'NeoMutt: Compose'    # editor has run; compose menu
    tmux send-keys -t "$S" y            # send
    wait_file "$W/out.eml"
    wait_for "$S" 'Mail sent'
    tmux send-keys -t "$S" q            # quit (mbox opened unchanged: move=no)
    wait_gone "$S"
    cp "$W/out.eml" "$OUT"; chmod 644 "$OUT"
    echo "wrote $OUT"
}

# snail NAME EDIT_MODE EDIT_WRAP
snail_case() {
    setup "$1" s-nailrc
    S="cap-$1"
    tmux new-session -d -s "$S" -x 100 -y 30 \
        "env -i PATH=/usr/bin:/bin HOME=$W TERM=xterm TZ=UTC LC_ALL=C.UTF-8 \
         MAILRC=$W/rc CAPTURE_OUT=$W/out.eml EDIT_MODE=$2 EDIT_WRAP=$3 \
         EDIT_HEADERS=1 EDIT_SAVE=$W s-nail -:u -f $W/inbox"
    wait_for "$S" 'Your update for Fri 4 Dec'
    tmux send-keys -t "$S" r Enter                  # reply
    wait_for "$S" 'Reply-To .* \[yes\]/no\?'        # reply-to-honour=ask-yes
    tmux send-keys -t "$S" y Enter
    wait_for "$S" '^\(continue\)'                   # editalong editor has run
    tmux send-keys -t "$S" C-d                      # end of message
    wait_for "$S" 'Send this message \[yes/no'      # asksend
    tmux send-keys -t "$S" y Enter
    wait_file "$W/out.eml"
    tmux send-keys -t "$S" x Enter                  # exit, leave mbox untouched
    wait_gone "$S"
    cp "$W/out.eml" "$OUT"; chmod 644 "$OUT"
    echo "wrote $OUT"
}

run() {
    case $1 in
    neomutt_interleaved)          neomutt_case "$1" interleaved 72 ;;
    neomutt_flowed_top)           neomutt_case "$1" top 72 ;;
    neomutt_interleaved_longline) neomutt_case "$1" interleaved 0 ;;
    snail_interleaved)            snail_case "$1" interleaved 0 ;;
    snail_bottom)                 snail_case "$1" bottom 0 ;;
    *) echo "unknown case $1" >&2; exit 2 ;;
    esac
}

if [ $# -eq 0 ]; then
    set -- neomutt_interleaved neomutt_flowed_top snail_interleaved \
           snail_bottom neomutt_interleaved_longline
fi
for c in "$@"; do run "$c"; done
