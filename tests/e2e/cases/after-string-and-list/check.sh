. "$CASEDIR/../check-lib.sh"
need_rundir
has_content results/as-string "string=src"
has_content results/as-list "list=src"
has_content results/as-block-list "block=string=src
block=list=src"
has_content results/twice "src"
