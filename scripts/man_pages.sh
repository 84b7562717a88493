#!/bin/sh
# Writes the man pages of pare into OUTDIR from pare's own help text (pare help,
# pare COMMAND --help), so a page can never disagree with the binary it ships
# with. Run by the build (target pare_man); deterministic (no date). The page
# pare-run(1) is both `pare run` and the standalone pare-run binary (given as
# the third argument), whose name it shares.
#   scripts/man_pages.sh build/pare build/man build/pare-run
set -eu
pare=$1
out=$2
pare_run=${3:-}
version=$("$pare" --version | sed 's/^pare //')
mkdir -p "$out"

# roff: backslashes escaped, a leading . or ' made literal.
escape() { sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/'; }

# page NAME SUMMARY: the help text of pare COMMAND (or pare itself) as a page.
page() {
  name=$1
  summary=$2
  shift 2
  upper=$(printf '%s' "$name" | tr 'a-z-' 'A-Z-')
  {
    printf '.TH %s 1 "" "pare %s" "pare manual"\n' "$upper" "$version"
    printf '.SH NAME\n%s \\- %s\n' "$name" "$(printf '%s' "$summary" | escape)"
    printf '.SH DESCRIPTION\n.nf\n'
    "$pare" "$@" | escape
    if [ "$name" = pare-run ] && [ -n "$pare_run" ]; then
      printf '\nThe standalone runner, as an app would ship it (pare-run --help):\n\n'
      "$pare_run" --help | escape
    fi
    printf '.fi\n.SH EXIT STATUS\n0 ok, 1 a check failed, 2 bad usage or bad input.\n'
    printf '.SH ENVIRONMENT\n'
    printf '.TP\n.B NO_COLOR\nwhen set and not empty, no colour even on a terminal.\n'
    printf '.TP\n.B GITHUB_ACTIONS\n"true" turns on pare check --github.\n'
    printf '.TP\n.B PARE_MAX_*\nlimits on one run of an untrusted model (docs/security.md).\n'
    if [ "$name" = pare ]; then
      printf '.SH SEE ALSO\n'
      "$pare" help | awk '/^  [a-z]/ { printf "%s\\fBpare-%s\\fR(1)", sep, $1; sep = ", " } END { print "" }'
    else
      printf '.SH SEE ALSO\n\\fBpare\\fR(1)\n'
    fi
  } >"$out/$name.1.tmp"
  mv "$out/$name.1.tmp" "$out/$name.1"
}

page pare "make ONNX models fit on a phone" help
"$pare" help | awk '/^  [a-z]/ { name = $1; $1 = ""; sub(/^ +/, ""); print name "\t" $0 }' |
  while IFS="$(printf '\t')" read -r command summary; do
    page "pare-$command" "$summary" "$command" --help
  done
