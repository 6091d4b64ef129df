#!/bin/sh
# Fake sendmail/MTA: store the exact message the mail client hands over.
# The client passes envelope recipients (and flags such as -oi, --) as
# arguments; they are logged next to the capture but otherwise ignored.
: "${CAPTURE_OUT:?CAPTURE_OUT must name the output file}"
printf '%s\n' "$*" > "$CAPTURE_OUT.argv"
cat > "$CAPTURE_OUT"
