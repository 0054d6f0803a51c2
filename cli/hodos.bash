# bash completion for hodos. Installed as
# share/bash-completion/completions/hodos; or source it.

_hodos_store() {
  # The store the command line names with -s DIR, or the one in this folder.
  local store=.hodos i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
    -s | --store) store=${COMP_WORDS[i + 1]} ;;
    esac
  done
  printf '%s' "$store"
}

_hodos_tasks() {
  # Task names of the store's last run.
  local f
  for f in "$(_hodos_store)"/runs/last/results/*; do
    [ -e "$f" ] && printf '%s\n' "${f##*/}"
  done
}

_hodos() {
  local cur prev cmd
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD - 1]}
  cmd=${COMP_WORDS[1]}
  local commands="run validate graph status clean logs report worker serve help
    version"
  if [ "$COMP_CWORD" -eq 1 ]; then
    mapfile -t COMPREPLY < <(compgen -W "$commands --help --version" -- "$cur")
    return
  fi
  case $prev in
  -b | --backend)
    mapfile -t COMPREPLY < <(compgen -W "processes threads serial ssh" -- "$cur")
    return
    ;;
  -s | --store | --root)
    mapfile -t COMPREPLY < <(compgen -d -- "$cur")
    return
    ;;
  --events | --trace | --html | -o | --token-file)
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    return
    ;;
  --format)
    mapfile -t COMPREPLY < <(compgen -W "dot json" -- "$cur")
    return
    ;;
  -j | --jobs | --hosts | --worker | --tunnel | --mem-limit | --spill-limit | \
    -m | --max-size | -l | --listen | --top)
    return
    ;;
  esac
  local opts=""
  case $cmd in
  run)
    opts="--store --resume --no-cache --backend --jobs --keep-going --hosts
          --worker --tunnel --dry-run --events --trace --mem-limit
          --spill-limit --quiet --verbose --help"
    ;;
  validate) opts="--help" ;;
  graph) opts="--format --output --help" ;;
  status) opts="--store --quiet --help" ;;
  clean) opts="--store --max-size --help" ;;
  logs) opts="--store --stdout --stderr --help" ;;
  report) opts="--store --html --events --trace --top --help" ;;
  worker) opts="--stdio --root --help" ;;
  serve) opts="--listen --token-file --help" ;;
  help)
    mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
    return
    ;;
  esac
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    return
  fi
  case $cmd in
  report)
    # Runs of the store: last, and each run folder's name.
    local runs
    runs=$(cd "$(_hodos_store)/runs" 2>/dev/null && printf '%s\n' [0-9]*)
    mapfile -t COMPREPLY < <(compgen -W "last $runs" -- "$cur")
    ;;
  logs)
    mapfile -t COMPREPLY < <(compgen -W "last $(_hodos_tasks)" -- "$cur")
    ;;
  run | validate | graph | status | clean)
    # Workflow files, and folders to reach them.
    mapfile -t COMPREPLY < <(compgen -f -X '!*.@(yaml|yml)' -- "$cur"
      compgen -d -- "$cur")
    ;;
  esac
}

complete -F _hodos hodos
