#!/usr/bin/env bash
# Turn `--some-option value` / `--some-option=value` arguments into the shell variable `some_option`.
# Source it AFTER setting the defaults: only variables that already exist can be set, so a typo is an
# error instead of being ignored. `--help` prints the variables listed in `recipe_options` with their
# values. Arguments after the options (or after `--`) stay in "$@".

_af_usage() {
  echo "usage: $0 [--option value ...]"
  echo "options (default value):"
  for _v in ${recipe_options:-}; do
    printf '  --%-24s %s\n' "${_v//_/-}" "${!_v}"
  done
}

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) _af_usage; exit 0 ;;
    --) shift; break ;;
    --*=*) _af_name="${1%%=*}"; _af_value="${1#*=}"; shift ;;
    --*)
      if [ $# -lt 2 ]; then echo "$0: option $1 needs a value" >&2; exit 1; fi
      _af_name="$1"; _af_value="$2"; shift 2 ;;
    *) break ;;
  esac
  _af_var="${_af_name#--}"
  _af_var="${_af_var//-/_}"
  if ! declare -p "$_af_var" >/dev/null 2>&1; then
    echo "$0: unknown option $_af_name (see --help)" >&2
    exit 1
  fi
  printf -v "$_af_var" '%s' "$_af_value"
done
unset _af_name _af_value _af_var
