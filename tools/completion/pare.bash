# bash completion for pare. Commands, options and presets are read from pare's
# own help at completion time, so they are always the installed binary's.
_pare() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} pare=${COMP_WORDS[0]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "$("$pare" help 2>/dev/null | awk '/^  [a-z]/ {print $1}') help --help --version" -- "$cur"))
    return
  fi
  case $prev in
    --preset)
      COMPREPLY=($(compgen -W "$("$pare" passes 2>/dev/null | awk '/^presets/ {p = 1; next} p && /^  [a-z]/ {print $1}')" -- "$cur"))
      return ;;
    --layout) COMPREPLY=($(compgen -W "NCHW NHWC" -- "$cur")); return ;;
    --channels) COMPREPLY=($(compgen -W "rgb bgr" -- "$cur")); return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$("$pare" "${COMP_WORDS[1]}" --help 2>/dev/null | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u)" -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -o bashdefault -F _pare pare
